//! PIN handling at the edges: a resend after delivery sends the same PIN,
//! and a PIN sent as a JSON number is not echoed.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

/// DESIGN: "A resend within the TTL delivers the same PIN (a late first
/// message must not confuse the caller)". The usual case is a PIN that was
/// delivered but not received; sending it must not end the resend path.
async fn resend_after_the_pin_was_delivered_sends_the_same_pin(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = app
        .new_call("+14155550100", Some("TN-Validation-Passed-B"))
        .await;
    let challenge = app.challenge(&call_id, "sms").await;
    let pin = app.pin_from_sms(1).await;

    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{challenge}/resend"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "resend after delivery: {r}");
    assert_eq!(
        app.pin_from_sms(2).await,
        pin,
        "a resend sends the same PIN"
    );
    let (status, r) = app.check(&challenge, &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved");
    app.shutdown().await;
}
on_both_engines!(
    resend_after_the_pin_was_delivered_sends_the_same_pin,
    resend_after_the_pin_was_delivered_sends_the_same_pin
);

/// A client that sends the PIN as a JSON number (a common slip) gets a
/// 400; the answer must not quote the digits back (they may be the PIN,
/// and error bodies end up in client logs and proxies).
async fn a_pin_sent_as_a_json_number_is_not_echoed(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = app
        .new_call("+14155550100", Some("TN-Validation-Passed-B"))
        .await;
    let challenge = app.challenge(&call_id, "sms").await;
    let check = app.url(&format!("/v1/challenges/{challenge}/check"));
    let pin = app.pin_from_sms(1).await;
    // A leading zero would make the number invalid JSON; the property is
    // about echoing whatever digits were sent, so use the PIN's tail too.
    let typed = pin.trim_start_matches('0');
    for body in [
        format!("{{\"pin\": {typed}}}"),
        format!("{{\"pin\": {typed}.0}}"),
    ] {
        let resp = app
            .client
            .post(&check)
            .bearer_auth(&app.agent_token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let answer = resp.text().await.expect("body");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(
            !answer.contains(typed),
            "the answer to {body} quotes the digits: {answer}"
        );
    }
    app.shutdown().await;
}
on_both_engines!(
    a_pin_sent_as_a_json_number_is_not_echoed,
    a_pin_sent_as_a_json_number_is_not_echoed
);
