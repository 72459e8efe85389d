//! A delivery report by webhook moves a sent message forward only: a
//! repeated, late or backward report changes nothing and is not audited
//! again.

use std::time::Duration;

use serde_json::Value;

use crate::errors::audit_events;
use crate::on_both_engines;
use crate::support::app::{ACCOUNT_SID, Engine, TestApp};
use crate::webhooks::{MESSAGE_STATUS, call_view};

/// Polls the call until its first PIN message has `status` (the outbox
/// worker records the provider's answer just after the API received it).
async fn wait_for_delivery(app: &TestApp, call_id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let call = call_view(app, call_id).await;
        let delivery = &call["challenges"][0]["delivery"][0];
        if delivery["status"] == status {
            return delivery.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery never became {status}: {call}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn message_status_moves_delivery_forward_only(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = app.new_call("+14155550100", None).await;
    app.challenge(&call_id, "sms").await;
    let sms = app.sms.wait_for(1, Duration::from_secs(20)).await;
    let message_sid = sms[0].sid.clone();
    let delivery = wait_for_delivery(&app, &call_id, "sent").await;
    assert_eq!(
        delivery["provider_message_id"],
        message_sid.as_str(),
        "{delivery}"
    );

    let report = |status: &'static str| {
        let message_sid = message_sid.clone();
        let app = &app;
        async move {
            let resp = app
                .webhook(
                    MESSAGE_STATUS,
                    &[
                        ("AccountSid", ACCOUNT_SID),
                        ("MessageSid", &message_sid),
                        ("SmsSid", &message_sid),
                        ("MessageStatus", status),
                        ("SmsStatus", status),
                        ("To", "+14155550199"),
                        ("From", "+15005550006"),
                    ],
                )
                .await;
            assert!(resp.status().is_success(), "{status}: {}", resp.status());
        }
    };
    // Earlier stages than what is recorded are ignored.
    report("queued").await;
    report("sending").await;
    assert_eq!(
        call_view(&app, &call_id).await["challenges"][0]["delivery"][0]["status"],
        "sent"
    );

    report("delivered").await;
    let call = call_view(&app, &call_id).await;
    assert_eq!(
        call["challenges"][0]["delivery"][0]["status"], "delivered",
        "{call}"
    );

    // A late "sent", a repeat, or a contradicting failure do not move it.
    report("sent").await;
    report("delivered").await;
    report("undelivered").await;
    let again = call_view(&app, &call_id).await;
    assert_eq!(
        again["challenges"][0]["delivery"][0]["status"], "delivered",
        "{again}"
    );
    let reported = audit_events(&app, "message_delivery_reported").await;
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(reported[0]["call_id"], call_id.as_str());

    // A report for a message pingate never sent changes nothing.
    let resp = app
        .webhook(
            MESSAGE_STATUS,
            &[
                ("MessageSid", "SM00000000000000000000000000000000"),
                ("MessageStatus", "failed"),
            ],
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(
        audit_events(&app, "message_delivery_reported").await.len(),
        1
    );
    app.shutdown().await;
}
on_both_engines!(
    message_status_moves_delivery_forward_only,
    message_status_moves_delivery_forward_only
);
