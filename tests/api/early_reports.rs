//! Twilio can report a message's delivery before the worker has recorded
//! the send (the callback races our commit). Such a report is kept and
//! applied when the send is recorded, instead of being lost.

use std::time::Duration;

use reqwest::StatusCode;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

async fn a_delivery_report_before_the_send_is_recorded_is_applied_after(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
    app.sms.set_next_sid(&sid);

    // The report arrives first: nothing knows this SID yet.
    let resp = app
        .webhook(
            "/webhooks/twilio/message-status",
            &[("MessageSid", sid.as_str()), ("MessageStatus", "delivered")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    let call_id = app.new_call("+14155550100", None).await;
    let challenge_id = app.challenge(&call_id, "sms").await;
    let sent = app.sms.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(sent[0].sid, sid);

    // The worker records `sent` and then applies the early report.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, c) = app
            .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
            .await;
        if c["delivery"][0]["status"] == "delivered" {
            assert_eq!(c["delivery"][0]["provider_message_id"], sid.as_str());
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not delivered: {c}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, ev) = app
        .get(
            &app.reviewer_token,
            "/v1/audit?kind=message_delivery_reported",
        )
        .await;
    assert_eq!(ev["items"].as_array().unwrap().len(), 1, "{ev}");

    // A report for a SID nobody ever sends stays harmless.
    let resp = app
        .webhook(
            "/webhooks/twilio/message-status",
            &[
                ("MessageSid", "SM00000000000000000000000000000000"),
                ("MessageStatus", "failed"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    app.shutdown().await;
}
on_both_engines!(
    a_delivery_report_before_the_send_is_recorded_is_applied_after,
    a_delivery_report_before_the_send_is_recorded_is_applied_after
);
