//! Automatic fallback to the other registered channel, never outside the
//! org's profile.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, call_sid, extract_pin};

use super::{WAIT, check, contoso_call, deliveries, delivery_reaches, events_for, options};

fn resent_events_with_fallback(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["detail"]["fallback"] == true)
        .collect()
}

async fn failed_sms_pin_falls_back_to_email_automatically(engine: Engine, test: &str) {
    let opts = options(|s| s.delivery.auto_fallback = true);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    app.sms.fail_next(1, 400, 21614);
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "sms").await;

    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(
        mails[0].to,
        vec!["it-admin@contoso.example".to_string()],
        "only the profile's contact"
    );
    delivery_reaches(&app, &call_id, &challenge_id, 0, "failed").await;
    let email = delivery_reaches(&app, &call_id, &challenge_id, 1, "sent").await;
    assert_eq!(email["channel"], "email");
    assert_eq!(email["destination"], "i***@contoso.example");

    let resent = events_for(&app, "challenge_resent", &challenge_id).await;
    assert_eq!(resent.len(), 1, "one fallback: {resent:#?}");
    assert_eq!(resent_events_with_fallback(&resent).len(), 1, "{resent:#?}");
    assert_eq!(resent[0]["actor"], "system:fallback");
    assert_eq!(resent[0]["detail"]["channel"], "email");

    // The SMS never arrived; the email's code is the challenge's one PIN.
    let pin = extract_pin(&mails[0].body_text(), app.settings.pin.length);
    assert_eq!(check(&app, &challenge_id, &pin).await["status"], "approved");
    assert_eq!(
        deliveries(&app, &call_id, &challenge_id).await.len(),
        2,
        "no further fallback"
    );
    app.shutdown().await;
}
on_both_engines!(
    failed_sms_pin_falls_back_to_email_automatically,
    failed_sms_pin_falls_back_to_email_automatically
);

/// An org whose profile has an SMS contact only.
const FABRIKAM_SMS_ONLY: &str = r#"
[[org]]
id = "fabrikam"
name = "Fabrikam"
account_number = "40099999"
registered_numbers = ["+14155550177"]
channels = ["sms"]
[org.contacts]
sms = "+14155550188"
"#;

async fn fallback_never_leaves_the_profile(engine: Engine, test: &str) {
    let opts = options(|s| s.delivery.auto_fallback = true);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_toml(FABRIKAM_SMS_ONLY).await;
    let sid = call_sid();
    app.call(&sid, "+14155550177", Some("TN-Validation-Passed-B"))
        .await;
    let call_id = app.call_id_for(&sid).await;
    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = app.sms.wait_for(1, WAIT).await;
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;

    // Reported undelivered: there is no other channel to fall back on.
    // The fallback runs inside the webhook request, so after its 204 the
    // outbox holds whatever it queued.
    let resp = app
        .webhook(
            "/webhooks/twilio/message-status",
            &[
                ("MessageSid", &sms[0].sid),
                ("MessageStatus", "undelivered"),
                ("ErrorCode", "30003"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let d = deliveries(&app, &call_id, &challenge_id).await;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0]["status"], "undelivered");
    assert!(
        events_for(&app, "challenge_resent", &challenge_id)
            .await
            .is_empty()
    );

    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{challenge_id}/resend"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(deliveries(&app, &call_id, &challenge_id).await.len(), 1);
    assert!(app.smtp.messages().is_empty());
    app.shutdown().await;
}
on_both_engines!(
    fallback_never_leaves_the_profile,
    fallback_never_leaves_the_profile
);
