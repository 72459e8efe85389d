//! Provider status callbacks: duplicates and out-of-order ones move a
//! delivery forward only, and `undelivered` falls back once.

use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, extract_pin};

use crate::delivery::{WAIT, contoso_call, deliveries, delivery_reaches, events_for, options};

async fn status(app: &TestApp, sid: &str, status: &str) {
    let resp = app
        .webhook(
            "/webhooks/twilio/message-status",
            &[("MessageSid", sid), ("MessageStatus", status)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT, "{status} for {sid}");
}

async fn status_callbacks_move_forward_only_and_undelivered_falls_back_once(
    engine: Engine,
    test: &str,
) {
    let opts = options(|s| s.delivery.auto_fallback = true);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;

    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = app.sms.wait_for(1, WAIT).await;
    let sid = sms[0].sid.clone();
    assert!(
        sms[0]
            .status_callback
            .as_deref()
            .unwrap()
            .ends_with("/webhooks/twilio/message-status")
    );
    let sent = delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    assert_eq!(sent["provider_message_id"], sid.as_str());

    status(&app, &sid, "delivered").await;
    status(&app, &sid, "delivered").await;
    // Late and out of order: Twilio does not promise callback order.
    status(&app, &sid, "sent").await;
    status(&app, &sid, "undelivered").await;
    let d = deliveries(&app, &call_id, &challenge_id).await;
    assert_eq!(d.len(), 1, "a delivered PIN has no fallback: {d:#?}");
    assert_eq!(d[0]["status"], "delivered");
    assert_eq!(d[0]["last_error"], Value::Null);
    assert_eq!(
        events_for(&app, "message_delivery_reported", &challenge_id)
            .await
            .len(),
        1
    );

    // Unknown MessageSid: answered, nothing changes.
    let before = app.events("message_delivery_reported").await.len();
    status(
        &app,
        &format!("SM{}", uuid::Uuid::new_v4().simple()),
        "undelivered",
    )
    .await;
    assert_eq!(app.events("message_delivery_reported").await.len(), before);
    assert_eq!(
        deliveries(&app, &call_id, &challenge_id).await[0]["status"],
        "delivered"
    );
    assert!(app.smtp.messages().is_empty());

    // Undelivered (twice): the same PIN follows by email, once.
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = app.sms.wait_for(2, WAIT).await;
    let sid = sms[1].sid.clone();
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    for _ in 0..2 {
        let resp = app
            .webhook(
                "/webhooks/twilio/message-status",
                &[
                    ("MessageSid", &sid),
                    ("MessageStatus", "undelivered"),
                    ("ErrorCode", "30003"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }
    let d = deliveries(&app, &call_id, &challenge_id).await;
    assert_eq!(d.len(), 2, "one fallback: {d:#?}");
    assert_eq!(d[0]["status"], "undelivered");
    assert!(
        d[0]["last_error"].as_str().unwrap().contains("30003"),
        "{d:#?}"
    );
    assert_eq!(d[1]["channel"], "email");
    delivery_reaches(&app, &call_id, &challenge_id, 1, "sent").await;
    let mails = app.smtp.messages();
    assert_eq!(mails.len(), 1);
    let len = app.settings.pin.length;
    assert_eq!(
        extract_pin(&mails[0].body_text(), len),
        extract_pin(&sms[1].body, len),
        "the fallback carries the same PIN"
    );
    let resent = events_for(&app, "challenge_resent", &challenge_id).await;
    assert_eq!(resent.len(), 1, "{resent:#?}");
    assert_eq!(resent[0]["detail"]["fallback"], true);
    app.shutdown().await;
}
on_both_engines!(
    status_callbacks_move_forward_only_and_undelivered_falls_back_once,
    status_callbacks_move_forward_only_and_undelivered_falls_back_once
);

/// Two SMS of one challenge (the first and a resend) reported undelivered
/// at the same moment: the PIN falls back to email once, not once per
/// report.
async fn two_failure_reports_at_once_fall_back_once(engine: Engine, test: &str) {
    let opts = options(|s| {
        s.delivery.auto_fallback = true;
        s.pin.max_sends = 10; // the send cap must not be what stops a second fallback
    });
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "sms").await;
    let (status_code, body) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{challenge_id}/resend"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status_code, StatusCode::OK, "{body}");
    let sms = app.sms.wait_for(2, WAIT).await;
    for i in 0..2 {
        delivery_reaches(&app, &call_id, &challenge_id, i, "sent").await;
    }
    tokio::join!(
        status(&app, &sms[0].sid, "undelivered"),
        status(&app, &sms[1].sid, "undelivered")
    );
    let d = deliveries(&app, &call_id, &challenge_id).await;
    let by_email = d.iter().filter(|m| m["channel"] == "email").count();
    assert_eq!(by_email, 1, "{d:#?}");
    app.shutdown().await;
}
on_both_engines!(
    two_failure_reports_at_once_fall_back_once,
    two_failure_reports_at_once_fall_back_once
);

/// A report of `failed` (the carrier gave up before delivery) falls back
/// like `undelivered`: the same PIN by email, once.
async fn a_failed_report_falls_back_to_email_once(engine: Engine, test: &str) {
    let opts = options(|s| s.delivery.auto_fallback = true);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = app.sms.wait_for(1, WAIT).await;
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    for _ in 0..2 {
        let resp = app
            .webhook(
                "/webhooks/twilio/message-status",
                &[
                    ("MessageSid", sms[0].sid.as_str()),
                    ("MessageStatus", "failed"),
                    ("ErrorCode", "30008"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }
    let d = deliveries(&app, &call_id, &challenge_id).await;
    assert_eq!(d.len(), 2, "one fallback: {d:#?}");
    assert_eq!(d[0]["status"], "failed", "{d:#?}");
    assert_eq!(d[1]["channel"], "email", "{d:#?}");
    let mails = app.smtp.wait_for(1, WAIT).await;
    let len = app.settings.pin.length;
    assert_eq!(
        extract_pin(&mails[0].body_text(), len),
        extract_pin(&sms[0].body, len)
    );
    let resent = events_for(&app, "challenge_resent", &challenge_id).await;
    assert_eq!(resent.len(), 1, "{resent:#?}");
    assert_eq!(resent[0]["actor"], "system:fallback");
    app.shutdown().await;
}
on_both_engines!(
    a_failed_report_falls_back_to_email_once,
    a_failed_report_falls_back_to_email_once
);
