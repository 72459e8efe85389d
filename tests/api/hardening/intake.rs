//! The voice webhook's batches (`store::intake`): calls that arrive while
//! the writer is busy go in with one insert; a replay inside a batch is
//! stored once; a call that cannot be stored fails alone and the others
//! of its batch are stored, each with its event.

use std::time::Duration;

use pingate::audit::event::{EventKind, NewEvent, Outcome};
use pingate::store::calls::{self, CallRow};
use pingate::store::intake::NewCall;
use pingate::store::{Store, StoreError};
use reqwest::StatusCode;

use super::group_commit::verify_ok;
use crate::on_both_engines;
use crate::support::app::{ACCOUNT_SID, Engine, TestApp, call_sid};

/// Waits until `n` calls wait in the open batch.
async fn until_calls_waiting(store: &Store, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.intake_stats().waiting < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}: not {n} calls waiting",
            store.intake_stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A signed voice webhook for `sid`; its status.
async fn voice(app: &TestApp, sid: &str) -> StatusCode {
    let form = [
        ("CallSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", "+14155550100"),
        ("To", "+18005550100"),
    ];
    app.webhook("/webhooks/twilio/voice", &form).await.status()
}

/// Runs `arrivals` while a lent write holds the writer, and lets the
/// writer go once `waiting` calls wait in the open batch: they all join
/// the batch that queued first.
async fn while_the_writer_is_held<T>(
    app: &TestApp,
    waiting: u64,
    arrivals: impl std::future::Future<Output = T>,
) -> T {
    let store = &app.state().store;
    let held = store.begin(app.state().clock.now_ms()).await.expect("hold");
    let release = async {
        until_calls_waiting(store, waiting).await;
        held.commit().await.expect("release");
    };
    tokio::join!(arrivals, release).0
}

async fn rows_for(app: &TestApp, sid: &str) -> (i64, i64) {
    let reader = app.state().store.reader();
    let calls: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE provider_call_id = $1")
        .bind(sid)
        .fetch_one(reader)
        .await
        .expect("calls");
    let pattern = format!("%{sid}%");
    let events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE kind = 'call_received' AND detail LIKE $1",
    )
    .bind(pattern)
    .fetch_one(reader)
    .await
    .expect("events");
    (calls, events)
}

async fn calls_arriving_together_go_in_one_insert(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let store = &app.state().store;
    let before = store.intake_stats();
    let sids: Vec<String> = (0..12).map(|_| call_sid()).collect();
    let answers = while_the_writer_is_held(
        &app,
        12,
        futures_util::future::join_all(sids.iter().map(|sid| voice(&app, sid))),
    )
    .await;
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");
    let after = store.intake_stats();
    assert_eq!(after.batches - before.batches, 1, "{before:?} -> {after:?}");
    assert_eq!(after.calls - before.calls, 12, "{before:?} -> {after:?}");
    for sid in &sids {
        assert_eq!(rows_for(&app, sid).await, (1, 1), "{sid}");
    }
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    calls_arriving_together_go_in_one_insert,
    calls_arriving_together_go_in_one_insert
);

async fn a_replay_in_the_same_batch_is_stored_once(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let (twice, other) = (call_sid(), call_sid());
    let answers = while_the_writer_is_held(&app, 3, async {
        tokio::join!(
            voice(&app, &twice),
            voice(&app, &twice),
            voice(&app, &other)
        )
    })
    .await;
    assert_eq!(answers, (StatusCode::OK, StatusCode::OK, StatusCode::OK));
    assert_eq!(rows_for(&app, &twice).await, (1, 1));
    assert_eq!(rows_for(&app, &other).await, (1, 1));
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    a_replay_in_the_same_batch_is_stored_once,
    a_replay_in_the_same_batch_is_stored_once
);

/// A call whose id another call already has: its insert breaks the
/// primary key (the provider-call-id conflict it is allowed is another).
fn clashing(stored: &CallRow) -> NewCall {
    let mut row = stored.clone();
    row.provider_call_id = call_sid();
    NewCall {
        if_registered: row.verification,
        row,
        event: NewEvent::new(EventKind::CallReceived, "provider:test", Outcome::Success),
    }
}

async fn a_call_that_cannot_be_stored_fails_alone(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let store = &app.state().store;
    let first = call_sid();
    assert_eq!(voice(&app, &first).await, StatusCode::OK);
    let id = app.call_id_for(&first).await;
    let stored = calls::get(store.reader(), &id)
        .await
        .expect("read")
        .expect("stored");
    let bad = clashing(&stored);
    let bad_sid = bad.row.provider_call_id.clone();
    let good: Vec<String> = (0..3).map(|_| call_sid()).collect();
    let before = store.intake_stats();
    let (refused, answers) = while_the_writer_is_held(&app, 4, async {
        let now = app.state().clock.now_ms();
        tokio::join!(
            store.record_call(now, bad),
            futures_util::future::join_all(good.iter().map(|sid| voice(&app, sid)))
        )
    })
    .await;
    match refused {
        Err(StoreError::Db(e)) => {
            let message = e.to_string().to_lowercase();
            assert!(
                message.contains("unique") || message.contains("duplicate"),
                "{message}"
            );
        }
        other => panic!("the clashing call: {other:?}"),
    }
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");
    // The batch of four ran (and failed) once; each call then went alone.
    let after = store.intake_stats();
    assert_eq!(after.batches - before.batches, 1, "{before:?} -> {after:?}");
    for sid in &good {
        assert_eq!(rows_for(&app, sid).await, (1, 1), "{sid}");
    }
    assert_eq!(rows_for(&app, &bad_sid).await, (0, 0));
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    a_call_that_cannot_be_stored_fails_alone,
    a_call_that_cannot_be_stored_fails_alone
);
