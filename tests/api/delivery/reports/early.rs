//! Twilio can report a message's delivery before the worker has recorded
//! the send (the callback races our commit). Such a report is kept and
//! applied when the send is recorded, instead of being lost.

use std::time::Duration;

use reqwest::StatusCode;

use crate::delivery::delivery_reaches;
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};
use crate::support::pg_locks::AuditLockHolder;

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
    let d = delivery_reaches(&app, &call_id, &challenge_id, 0, "delivered").await;
    assert_eq!(d["provider_message_id"], sid.as_str());
    let (_, ev) = app
        .get(
            &app.reviewer_token,
            "/v1/audit?kind=message_delivery_reported",
        )
        .await;
    assert_eq!(ev["items"].as_array().unwrap().len(), 1, "{ev}");

    // A report for a SID nobody ever sends stays harmless: it is kept for
    // a send that never comes, and changes no message, challenge or event
    // (the webhook runs any fallback before it answers).
    let (_, call_before) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
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
    let (_, call_after) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(
        call_after, call_before,
        "the call and its deliveries are unchanged"
    );
    let (_, ev) = app
        .get(
            &app.reviewer_token,
            "/v1/audit?kind=message_delivery_reported",
        )
        .await;
    assert_eq!(ev["items"].as_array().unwrap().len(), 1, "{ev}");
    let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(app.state().store.reader())
        .await
        .expect("count messages");
    assert_eq!(messages, 1, "no message was queued by the stray report");
    app.shutdown().await;
}
on_both_engines!(
    a_delivery_report_before_the_send_is_recorded_is_applied_after,
    a_delivery_report_before_the_send_is_recorded_is_applied_after
);

/// The report arrives while the worker is between recording the send and
/// committing it (held there by the audit lock, which the test takes). The
/// two take turns on the message id, so the report is applied, not kept
/// for a send that was already recorded. PostgreSQL only: SQLite's single
/// writer cannot interleave them. Group commit is off, as between two
/// instances: within one, the writer would queue the report behind the
/// worker's group instead of on the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pingate_test_postgres),
    ignore = "PostgreSQL only: set PINGATE_TEST_DATABASE_URL to run it"
)]
async fn a_delivery_report_during_the_send_commit_is_applied() {
    let test = "a_delivery_report_during_the_send_commit_is_applied";
    let opts = crate::support::app::Options {
        // The worker moves only when woken, so the test decides when.
        tweak: Box::new(|s| {
            s.delivery.poll_interval = pingate::config::HumanDuration(Duration::from_secs(3600));
            s.database.group_commit_max = 1;
        }),
        ..Default::default()
    };
    let Some(app) = TestApp::spawn_with(Engine::Postgres, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
    app.sms.set_next_sid(&sid);
    let state = app.state();
    let mut tx = state.store.begin(state.clock.now_ms()).await.unwrap();
    pingate::delivery::enqueue(
        &mut tx,
        &state.sealer,
        pingate::delivery::Outgoing {
            kind: pingate::domain::message::MessageKind::LockoutNotice,
            channel: pingate::domain::org::Channel::Sms,
            org_id: "contoso",
            call_id: None,
            challenge_id: None,
            grant_id: None,
            destination: "+14155550199",
            destination_masked: "+1 ***-***-0199",
            subject: "",
            body: "race",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Hold the audit lock: the worker's commit of `sent` will wait on it.
    let mut lock = AuditLockHolder::take(&app).await;
    state.wake_outbox();
    app.sms.wait_for(1, Duration::from_secs(20)).await;
    lock.until_waiting(1).await; // the worker, at its commit

    {
        let params = [("MessageSid", sid.as_str()), ("MessageStatus", "delivered")];
        let report = app.webhook("/webhooks/twilio/message-status", &params);
        tokio::pin!(report);
        // The report must wait for the worker's transaction; it may not
        // finish (and file itself as early) while the send is uncommitted.
        tokio::select! {
            resp = &mut report => panic!("the report did not wait for the send's commit: {}", resp.status()),
            () = lock.until_waiting(2) => {}
        }
        lock.release().await;
        assert_eq!(report.await.status(), StatusCode::NO_CONTENT);
    }

    let status: String =
        sqlx::query_scalar("SELECT status FROM messages WHERE provider_message_id = $1")
            .bind(&sid)
            .fetch_one(app.state().store.reader())
            .await
            .unwrap();
    assert_eq!(status, "delivered");
    let stranded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM early_delivery_reports")
        .fetch_one(app.state().store.reader())
        .await
        .unwrap();
    assert_eq!(stranded, 0);
    app.shutdown().await;
}
