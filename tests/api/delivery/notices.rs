//! Grant notices to the registered contacts, without the PIN.

use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, call_sid};

use super::{WAIT, check, contoso_call, eventually, options};

/// Waits for the call's grant notices to be sent; returns them.
async fn sent_notices(app: &TestApp, call_id: &str) -> Vec<Value> {
    eventually("grant notices sent", || async {
        let (_, call) = app
            .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
            .await;
        let notices = call["notices"].as_array().cloned().unwrap_or_default();
        if notices.len() == 2 && notices.iter().all(|n| n["status"] == "sent") {
            Ok(notices)
        } else {
            Err(format!("{notices:?}"))
        }
    })
    .await
}

async fn every_grant_notifies_the_registered_contacts_without_the_pin(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;

    // By PIN.
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "email").await;
    let pin = app.pin_from_email(1).await;
    assert_eq!(check(&app, &challenge_id, &pin).await["status"], "approved");
    let notices = sent_notices(&app, &call_id).await;
    let mut channels: Vec<&str> = notices
        .iter()
        .map(|n| n["channel"].as_str().unwrap())
        .collect();
    channels.sort_unstable();
    assert_eq!(channels, ["email", "sms"]);
    let mail = &app.smtp.wait_for(2, WAIT).await[1];
    assert_eq!(mail.to, vec!["it-admin@contoso.example".to_string()]);
    let text = mail.body_text();
    for needle in ["alice", call_id.as_str(), "Contoso Ltd", "report"] {
        assert!(
            text.contains(needle),
            "{needle:?} missing from the notice:\n{text}"
        );
    }
    assert!(
        !text.contains(&pin),
        "a notice never carries the PIN:\n{text}"
    );
    let sms = &app.sms.wait_for(1, WAIT).await[0];
    assert_eq!(sms.to, "+14155550199");
    assert!(
        sms.body.contains("alice") && sms.body.contains(&call_id),
        "{}",
        sms.body
    );
    assert!(!sms.body.contains(&pin), "{}", sms.body);

    // By trusted number (attestation A from a registered number).
    let sid = call_sid();
    app.call(&sid, "+8613800138000", Some("TN-Validation-Passed-A"))
        .await;
    let call_id = app.call_id_for(&sid).await;
    let (status, r) = app.grant(&call_id).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    sent_notices(&app, &call_id).await;
    let mail = &app.smtp.wait_for(3, WAIT).await[2];
    let text = mail.body_text();
    assert!(text.contains("alice") && text.contains(&call_id), "{text}");
    assert!(
        text.contains("registered"),
        "says why access was granted:\n{text}"
    );
    let sms = &app.sms.wait_for(2, WAIT).await[1];
    assert!(
        sms.body.contains("alice") && sms.body.contains(&call_id),
        "{}",
        sms.body
    );
    assert_eq!(app.smtp.messages().len(), 3);
    assert_eq!(app.sms.messages().len(), 2);
    app.shutdown().await;
}
on_both_engines!(
    every_grant_notifies_the_registered_contacts_without_the_pin,
    every_grant_notifies_the_registered_contacts_without_the_pin
);
