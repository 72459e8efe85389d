//! Resends: the agent sees a failure and resends by email; a resend carries
//! the same PIN until `max_sends`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, extract_pin};

use super::{WAIT, check, contoso_call, deliveries, delivery_reaches, events_for, options};

async fn agent_sees_the_failure_and_resends_the_same_pin_by_email(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    app.sms.fail_next(1, 400, 21614);
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "sms").await;

    let failed = delivery_reaches(&app, &call_id, &challenge_id, 0, "failed").await;
    assert!(
        failed["last_error"].as_str().unwrap().contains("21614"),
        "{failed}"
    );
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
        .await;
    assert_eq!(ch["delivery"][0]["status"], "failed", "{ch}");
    assert_eq!(ch["status"], "pending", "{ch}");

    // No address can be given: the fallback goes to the profile's contact.
    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{challenge_id}/resend"),
            json!({"channel": "email", "to": "attacker@evil.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");

    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{challenge_id}/resend"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["it-admin@contoso.example".to_string()]);
    delivery_reaches(&app, &call_id, &challenge_id, 1, "sent").await;
    // The one worker sends in turn and runs the failed SMS's fallback hook
    // before it takes the next message, so once the agent's email is out, an
    // automatic fallback (off by default) would have been queued already.
    assert_eq!(
        deliveries(&app, &call_id, &challenge_id).await.len(),
        2,
        "the failed SMS and the agent's resend, no automatic fallback"
    );

    let resent = events_for(&app, "challenge_resent", &challenge_id).await;
    assert_eq!(resent.len(), 1, "{resent:#?}");
    assert_eq!(resent[0]["detail"]["fallback"], true);
    assert_eq!(resent[0]["actor"], "agent:alice");

    let pin = extract_pin(&mails[0].body_text(), app.settings.pin.length);
    assert_eq!(check(&app, &challenge_id, &pin).await["status"], "approved");
    app.shutdown().await;
}
on_both_engines!(
    agent_sees_the_failure_and_resends_the_same_pin_by_email,
    agent_sees_the_failure_and_resends_the_same_pin_by_email
);

async fn resend_carries_the_same_pin_until_max_sends(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "email").await;
    let first = app.pin_from_email(1).await;

    let resend = |body: Value| {
        let url = app.url(&format!("/v1/challenges/{challenge_id}/resend"));
        let req = app
            .client
            .post(url)
            .bearer_auth(&app.agent_token)
            .json(&body);
        async move { req.send().await.expect("resend") }
    };
    assert_eq!(resend(json!({})).await.status(), StatusCode::OK);
    assert_eq!(
        app.pin_from_email(2).await,
        first,
        "the resent email carries the same PIN"
    );
    assert_eq!(
        resend(json!({"channel": "sms"})).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.pin_from_sms(1).await, first, "so does the SMS");
    assert_eq!(app.settings.pin.max_sends, 3);

    let refused = resend(json!({})).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert_eq!(
        deliveries(&app, &call_id, &challenge_id).await.len(),
        3,
        "nothing queued"
    );
    assert_eq!(
        check(&app, &challenge_id, &first).await["status"],
        "approved"
    );
    app.shutdown().await;
}
on_both_engines!(
    resend_carries_the_same_pin_until_max_sends,
    resend_carries_the_same_pin_until_max_sends
);
