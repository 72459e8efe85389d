//! The PIN lifecycle's refusals: invalid channels, malformed PINs, expired
//! and locked challenges, and resends over quota, each with the state the
//! agent needs.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, call_sid};

use super::{audit_events, expect_problem, pin_required_call};

/// A PIN of the right length that is not `pin`.
fn wrong_pin(pin: &str) -> String {
    pin.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}

async fn invalid_channel_is_422_naming_the_field(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_toml(
        r#"
[[org]]
id = "emailonly"
name = "Email Only Ltd"
account_number = "50012345"
registered_numbers = ["+14155550111"]
channels = ["email"]
[org.contacts]
email = "it@emailonly.example"
"#,
    )
    .await;
    let sid = call_sid();
    app.call(&sid, "+14155550111", None).await;
    let call_id = app.call_id_for(&sid).await;

    // Unknown channel names, and a channel this org does not accept.
    for channel in ["carrier-pigeon", "EMAIL ", "", "sms"] {
        let resp = app
            .post_raw(
                &app.agent_token,
                &format!("/v1/calls/{call_id}/challenges"),
                json!({ "channel": channel }),
            )
            .await;
        let body = expect_problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["type"], "urn:pingate:problem:validation", "{body}");
        assert_eq!(body["errors"][0]["field"], "channel", "{channel:?}: {body}");
    }
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["challenges"], json!([]), "{call}");
    app.shutdown().await;
}
on_both_engines!(
    invalid_channel_is_422_naming_the_field,
    invalid_channel_is_422_naming_the_field
);

async fn malformed_pin_is_422_and_consumes_no_attempt(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let id = app.challenge(&call_id, "email").await;
    let len = app.settings.pin.length;

    for bad in [
        "1".repeat(len - 1),
        "1".repeat(len + 1),
        String::new(),
        "12a456".to_string(),
        "١٢٣٤٥٦".to_string(),
        " 123456 7".to_string(),
    ] {
        let resp = app
            .post_raw(
                &app.agent_token,
                &format!("/v1/challenges/{id}/check"),
                json!({ "pin": bad }),
            )
            .await;
        let body = expect_problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["field"], "pin", "{bad:?}: {body}");
        assert!(
            !body.to_string().contains(&bad) || bad.is_empty(),
            "the answer echoes the PIN input: {body}"
        );
    }
    // A number instead of a string is malformed, not a check either.
    let (status, _) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{id}/check"),
            json!({ "pin": 123456 }),
        )
        .await;
    assert!(status.is_client_error(), "{status}");

    let (status, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{ch}");
    assert_eq!(ch["status"], "pending", "{ch}");
    assert_eq!(ch["attempts_left"], app.settings.pin.max_attempts, "{ch}");
    assert!(audit_events(&app, "authn_pin_fail").await.is_empty());

    // The real PIN still works afterwards.
    let pin = app.pin_from_email(1).await;
    let (status, r) = app.check(&id, &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved", "{r}");
    app.shutdown().await;
}
on_both_engines!(
    malformed_pin_is_422_and_consumes_no_attempt,
    malformed_pin_is_422_and_consumes_no_attempt
);

async fn expired_challenge_answers_409_expired(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let id = app.challenge(&call_id, "email").await;
    let pin = app.pin_from_email(1).await;

    app.clock
        .advance(app.settings.pin.ttl.0 + Duration::from_secs(1));

    // Even the right PIN is refused once the TTL has passed.
    let resp = app
        .post_raw(
            &app.agent_token,
            &format!("/v1/challenges/{id}/check"),
            json!({ "pin": pin }),
        )
        .await;
    let body = expect_problem(resp, StatusCode::CONFLICT).await;
    assert_eq!(body["state"], "expired", "{body}");
    assert!(!body.to_string().contains(&pin));

    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{id}"))
        .await;
    assert_eq!(ch["status"], "expired", "{ch}");
    // A resend cannot revive it.
    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{id}/resend"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    assert_eq!(r["state"], "expired", "{r}");
    assert_eq!(audit_events(&app, "challenge_expired").await.len(), 1);
    app.shutdown().await;
}
on_both_engines!(
    expired_challenge_answers_409_expired,
    expired_challenge_answers_409_expired
);

async fn spent_attempt_budget_locks_the_challenge_and_the_call(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let id = app.challenge(&call_id, "email").await;
    let pin = app.pin_from_email(1).await;
    let wrong = wrong_pin(&pin);
    let max = i64::from(app.settings.pin.max_attempts);

    for attempt in 1..max {
        let (status, r) = app.check(&id, &wrong).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(
            r,
            json!({ "status": "pending", "attempts_left": max - attempt })
        );
    }
    let (status, r) = app.check(&id, &wrong).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "locked", "{r}");

    // The next check, even with the right PIN, is refused without a grant.
    let resp = app
        .post_raw(
            &app.agent_token,
            &format!("/v1/challenges/{id}/check"),
            json!({ "pin": pin }),
        )
        .await;
    let body = expect_problem(resp, StatusCode::CONFLICT).await;
    assert_eq!(body["state"], "locked", "{body}");

    // A new challenge on the same call does not reset the budget.
    let resp = app
        .post_raw(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({ "channel": "sms" }),
        )
        .await;
    let body = expect_problem(resp, StatusCode::CONFLICT).await;
    assert_eq!(body["state"], "failed", "{body}");

    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["verification"], "failed", "{call}");
    assert_eq!(call["grants"], json!([]), "{call}");
    assert_eq!(call["challenges"].as_array().unwrap().len(), 1, "{call}");
    assert_eq!(audit_events(&app, "authn_pin_lock").await.len(), 1);
    assert_eq!(
        audit_events(&app, "authn_pin_fail").await.len() as i64,
        max - 1
    );
    assert!(audit_events(&app, "grant_issued").await.is_empty());
    app.shutdown().await;
}
on_both_engines!(
    spent_attempt_budget_locks_the_challenge_and_the_call,
    spent_attempt_budget_locks_the_challenge_and_the_call
);

async fn resend_delivers_the_same_pin_then_429_with_retry_after(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let id = app.challenge(&call_id, "email").await;
    let first = app.pin_from_email(1).await;
    let max_sends = app.settings.pin.max_sends as usize;

    for send in 2..=max_sends {
        let (status, r) = app
            .post(
                &app.agent_token,
                &format!("/v1/challenges/{id}/resend"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(r["sends"], send, "{r}");
        assert_eq!(r["challenge_id"], id.as_str());
        assert_eq!(
            app.pin_from_email(send).await,
            first,
            "resend {send} carries the same PIN"
        );
    }
    let mails = app.smtp.messages();
    assert_eq!(mails.len(), max_sends);
    assert!(
        mails
            .iter()
            .all(|m| m.to == vec!["it-admin@contoso.example".to_string()])
    );

    let resp = app
        .post_raw(
            &app.agent_token,
            &format!("/v1/challenges/{id}/resend"),
            json!({}),
        )
        .await;
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body = expect_problem(resp, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["type"], "urn:pingate:problem:quota-exceeded");
    let secs: u64 = retry_after
        .expect("429 carries Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        secs >= 1 && secs <= app.settings.pin.ttl.0.as_secs(),
        "{secs}"
    );

    // The refused resend sent nothing and the PIN still works.
    let (status, r) = app.check(&id, &first).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved", "{r}");
    let pin_mails = app
        .smtp
        .messages()
        .iter()
        .filter(|m| m.body_text().contains(&first))
        .count();
    assert_eq!(pin_mails, max_sends);
    app.shutdown().await;
}
on_both_engines!(
    resend_delivers_the_same_pin_then_429_with_retry_after,
    resend_delivers_the_same_pin_then_429_with_retry_after
);
