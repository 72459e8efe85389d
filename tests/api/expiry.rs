//! Time-bound rules end to end: a grant stops working after `grant.ttl`, a
//! lockout ends after `limits.lockout`, and a new challenge on a call
//! inherits the attempts already spent on it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp};

fn wrong_pin(pin: &str) -> &'static str {
    if pin == "000000" { "111111" } else { "000000" }
}

async fn introspect(app: &TestApp, token: &str) -> serde_json::Value {
    let (status, body) = app
        .post(
            &app.agent_token,
            "/v1/grants/introspect",
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn a_grant_is_inactive_once_its_ttl_has_passed(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = app
        .new_call("+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let (status, granted) = app.grant(&call_id).await;
    assert_eq!(status, StatusCode::CREATED, "{granted}");
    let token = granted["grant"]["token"].as_str().unwrap();

    app.clock
        .advance(app.settings.grant.ttl.0 - Duration::from_secs(5));
    assert_eq!(introspect(&app, token).await["active"], true, "not yet");
    app.clock.advance(Duration::from_secs(6));
    let answer = introspect(&app, token).await;
    assert_eq!(answer["active"], false, "{answer}");
    assert!(answer.get("org_id").is_none_or(|v| v.is_null()), "{answer}");
    app.shutdown().await;
}
on_both_engines!(
    a_grant_is_inactive_once_its_ttl_has_passed,
    a_grant_is_inactive_once_its_ttl_has_passed
);

async fn a_lockout_ends_by_itself_after_its_duration(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| {
            s.limits.failures_per_caller = 2;
            s.limits.lockout = pingate::config::HumanDuration(Duration::from_secs(600));
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let caller = "+14155550123";
    let (_, challenge_id) = app.pending_challenge(caller).await;
    let wrong = wrong_pin(&app.pin_from_email(1).await);
    assert_eq!(app.check(&challenge_id, wrong).await.1["status"], "pending");
    assert_eq!(app.check(&challenge_id, wrong).await.1["status"], "locked");

    // The locked call has failed; the caller calls again.
    let call_id = app.new_call(caller, None).await;
    assert_eq!(app.set_org(&call_id, "contoso").await.0, StatusCode::OK);
    let path = format!("/v1/calls/{call_id}/challenges");
    let ask = || app.post(&app.agent_token, &path, json!({"channel": "email"}));
    let (status, body) = ask().await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "locked: {body}");
    assert!(
        body["detail"].as_str().unwrap().contains("pin_lockout"),
        "{body}"
    );
    // Still inside the quota window (an hour), but past the lockout.
    app.clock.advance(Duration::from_secs(601));
    let (_, lockouts) = app.get(&app.admin_token, "/v1/lockouts").await;
    assert_eq!(lockouts["items"], json!([]), "none in force: {lockouts}");
    let (status, body) = ask().await;
    assert_eq!(status, StatusCode::CREATED, "the lockout ended: {body}");
    app.shutdown().await;
}
on_both_engines!(
    a_lockout_ends_by_itself_after_its_duration,
    a_lockout_ends_by_itself_after_its_duration
);

async fn a_new_challenge_inherits_the_attempts_spent_on_its_call(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let max = i64::from(app.settings.pin.max_attempts);
    let (call_id, first) = app.pending_challenge("+14155550123").await;
    let wrong = wrong_pin(&app.pin_from_email(1).await);
    for spent in 1..=2 {
        let (_, body) = app.check(&first, wrong).await;
        assert_eq!(body["attempts_left"], json!(max - spent), "{body}");
    }
    let second = app.challenge(&call_id, "email").await;
    let pin = app.pin_from_email(2).await;
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{second}"))
        .await;
    assert_eq!(ch["attempts_left"], json!(max - 2), "{ch}");
    let (_, body) = app.check(&second, wrong_pin(&pin)).await;
    assert_eq!(body["attempts_left"], json!(max - 3), "{body}");
    let (_, body) = app.check(&second, &pin).await;
    assert_eq!(body["status"], "approved", "{body}");
    app.shutdown().await;
}
on_both_engines!(
    a_new_challenge_inherits_the_attempts_spent_on_its_call,
    a_new_challenge_inherits_the_attempts_spent_on_its_call
);
