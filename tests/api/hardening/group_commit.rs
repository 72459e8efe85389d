//! Group commit (issue 11): the single writer runs the writes that wait in
//! one transaction, each under its own savepoint. A member that fails is
//! rolled back alone and hears its own error; the others commit together,
//! and the audit chain stays gapless, in commit order, and verifiable.

use std::time::Duration;

use pingate::audit::event::{EventKind, NewEvent, Outcome};
use pingate::clock::Clock;
use pingate::store::audit::{self, AuditFilter};
use pingate::store::{Store, StoreError, StoreResult};
use reqwest::StatusCode;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, call_sid};

pub(super) const MEMBERS: u64 = 24;

pub(super) fn marker(n: u64) -> NewEvent {
    NewEvent::new(EventKind::OrgUpdated, "test:group", Outcome::Success).detail("n", n as i64)
}

/// Every fourth member fails after it has written.
pub(super) fn fails(n: u64) -> bool {
    n % 4 == 3
}

/// One member: records a webhook receipt and an audit event; a failing
/// member then runs a statement the database refuses and gives up.
pub(super) async fn member(store: Store, now: i64, n: u64) -> StoreResult<()> {
    let mut tx = store.begin(now).await?;
    pingate::store::quotas::first_receipt(tx.conn(), "test", &format!("r{n}"), now).await?;
    tx.audit(marker(n));
    if fails(n) {
        sqlx::query("INSERT INTO no_such_table (n) VALUES (1)")
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await
}

/// Waits (bounded) until `n` writes queue for the writer.
pub(super) async fn until_waiting(store: &Store, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.group_stats().waiting < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}: not {n} writes waiting",
            store.group_stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub(super) async fn verify_ok(app: &TestApp) {
    let (status, v) = app.get(&app.reviewer_token, "/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["first_bad_seq"], serde_json::Value::Null, "{v}");
}

/// The test receipts stored, sorted.
pub(super) async fn receipt_keys(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT key FROM webhook_receipts WHERE provider = 'test' ORDER BY key")
        .fetch_all(store.reader())
        .await
        .expect("receipts")
}

/// The markers' numbers in chain order, after checking seq is gapless.
pub(super) async fn markers_in_chain(app: &TestApp) -> Vec<i64> {
    assert_gapless(app)
        .await
        .iter()
        .filter(|e| e.actor == "test:group")
        .map(|e| e.detail["n"].as_i64().unwrap_or(-1))
        .collect()
}

/// Every event's seq, in order: 1, 2, 3, ... with no gap.
async fn assert_gapless(app: &TestApp) -> Vec<pingate::audit::event::Event> {
    let all = audit::list(app.state().store.reader(), &AuditFilter::default(), 10_000)
        .await
        .expect("list");
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    let expected: Vec<i64> = (1..=all.len() as i64).collect();
    assert_eq!(seqs, expected, "seq has a gap");
    all
}

async fn a_failing_member_is_rolled_back_alone_and_the_rest_commit_together(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let store = app.state().store.clone();
    let now = app.clock.now_ms();
    // A write holds the writer while the members queue behind it.
    let mut first = store.begin(now).await.expect("begin");
    first.audit(marker(MEMBERS));
    let before = store.group_stats();
    let members: Vec<_> = (0..MEMBERS)
        .map(|n| tokio::spawn(member(store.clone(), now, n)))
        .collect();
    until_waiting(&store, MEMBERS).await;
    first.commit().await.expect("the holder commits");

    for (n, handle) in members.into_iter().enumerate() {
        let answer = handle.await.expect("member task");
        match answer {
            Ok(()) => assert!(!fails(n as u64), "member {n} should have failed"),
            Err(StoreError::Db(e)) => {
                assert!(fails(n as u64), "member {n} failed: {e}");
                assert!(e.to_string().contains("no_such_table"), "member {n}: {e}");
            }
            Err(e) => panic!("member {n} got another's error: {e}"),
        }
    }
    let after = store.group_stats();
    // The queued members went in with the holder; a background write (the
    // sweeper, the checkpointer) may have joined or made a group of its own.
    let (groups, members) = (after.groups - before.groups, after.members - before.members);
    assert!((1..=3).contains(&groups), "{before:?} -> {after:?}");
    assert!(members > MEMBERS, "{before:?} -> {after:?}");

    let mut committed = markers_in_chain(&app).await;
    // The chain's order is the commit order: the holder, then the queue.
    assert_eq!(committed.first(), Some(&(MEMBERS as i64)));
    committed.remove(0);
    // The queue's order is whichever task joined first.
    committed.sort_unstable();
    let expected: Vec<i64> = (0..MEMBERS)
        .filter(|n| !fails(*n))
        .map(|n| n as i64)
        .collect();
    assert_eq!(committed, expected);
    let receipts = receipt_keys(&store).await;
    let mut want: Vec<String> = expected.iter().map(|n| format!("r{n}")).collect();
    want.sort();
    assert_eq!(
        receipts, want,
        "a failed member's own writes are rolled back"
    );
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    a_failing_member_is_rolled_back_alone_and_the_rest_commit_together,
    a_failing_member_is_rolled_back_alone_and_the_rest_commit_together
);

/// A write dropped before commit (an early return) leaves nothing, and
/// the writer goes on serving the next one.
async fn an_abandoned_write_changes_nothing(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let store = app.state().store.clone();
    let now = app.clock.now_ms();
    let mut dropped = store.begin(now).await.expect("begin");
    pingate::store::quotas::first_receipt(dropped.conn(), "test", "gone", now)
        .await
        .expect("insert");
    dropped.audit(marker(1));
    drop(dropped);
    member(store.clone(), now, 2).await.expect("next write");
    let keys = receipt_keys(&store).await;
    assert_eq!(keys, vec!["r2".to_string()]);
    let markers = markers_in_chain(&app).await;
    assert_eq!(markers, vec![2]);
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    an_abandoned_write_changes_nothing,
    an_abandoned_write_changes_nothing
);

/// The write a group begins with fails while others wait behind it: on
/// SQLite it has no savepoint (the transaction is rolled back and begun
/// again), on PostgreSQL it is rolled back to its own. Either way only its
/// writes go, and the queue behind it commits as before.
async fn a_failing_first_member_is_rolled_back_alone(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let store = app.state().store.clone();
    let now = app.clock.now_ms();
    let mut first = store.begin(now).await.expect("begin");
    pingate::store::quotas::first_receipt(first.conn(), "test", "first", now)
        .await
        .expect("insert");
    first.audit(marker(MEMBERS));
    let members: Vec<_> = (0..MEMBERS)
        .map(|n| tokio::spawn(member(store.clone(), now, n)))
        .collect();
    until_waiting(&store, MEMBERS).await;
    let refused = sqlx::query("INSERT INTO no_such_table (n) VALUES (1)")
        .execute(first.conn())
        .await;
    assert!(refused.is_err(), "the bad statement ran");
    drop(first);

    for (n, handle) in members.into_iter().enumerate() {
        let answer = handle.await.expect("member task");
        assert_eq!(answer.is_ok(), !fails(n as u64), "member {n}: {answer:?}");
    }
    let receipts = receipt_keys(&store).await;
    let mut want: Vec<String> = (0..MEMBERS)
        .filter(|n| !fails(*n))
        .map(|n| format!("r{n}"))
        .collect();
    want.sort();
    assert_eq!(receipts, want, "only the first member's writes are gone");
    let mut markers = markers_in_chain(&app).await;
    markers.sort_unstable();
    let expected: Vec<i64> = (0..MEMBERS)
        .filter(|n| !fails(*n))
        .map(|n| n as i64)
        .collect();
    assert_eq!(markers, expected);
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    a_failing_first_member_is_rolled_back_alone,
    a_failing_first_member_is_rolled_back_alone
);

/// A member that runs a statement the database refuses, ignores the
/// error and commits: PostgreSQL has poisoned its transaction, so its
/// savepoint will not release and it alone is rolled back and told;
/// SQLite undid only the statement, so the member's other writes stand.
/// Run in a group (released with the next member's SAVEPOINT) and alone
/// (released before the commit).
async fn a_member_that_goes_on_after_a_refused_statement(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let store = app.state().store.clone();
    let now = app.clock.now_ms();
    let stubborn = |n: u64| {
        let store = store.clone();
        async move {
            let mut tx = store.begin(now).await?;
            pingate::store::quotas::first_receipt(tx.conn(), "test", &format!("r{n}"), now).await?;
            tx.audit(marker(n));
            if fails(n) {
                let refused = sqlx::query("INSERT INTO no_such_table (n) VALUES (1)")
                    .execute(tx.conn())
                    .await;
                assert!(refused.is_err(), "the bad statement ran");
            }
            tx.commit().await
        }
    };
    let holder = store.begin(now).await.expect("begin");
    let members: Vec<_> = (0..MEMBERS).map(|n| tokio::spawn(stubborn(n))).collect();
    until_waiting(&store, MEMBERS).await;
    holder.commit().await.expect("the holder commits");
    let mut answers: Vec<(u64, bool)> = Vec::new();
    for (n, handle) in members.into_iter().enumerate() {
        answers.push((n as u64, handle.await.expect("member task").is_ok()));
    }
    // Alone: the group's only member.
    answers.push((MEMBERS + 3, stubborn(MEMBERS + 3).await.is_ok()));

    let poisons = engine == Engine::Postgres;
    for &(n, ok) in &answers {
        assert_eq!(ok, !(fails(n) && poisons), "member {n}");
    }
    let receipts = receipt_keys(&store).await;
    let mut want: Vec<String> = answers
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(n, _)| format!("r{n}"))
        .collect();
    want.sort();
    assert_eq!(receipts, want, "exactly the members told Ok are stored");
    assert_eq!(markers_in_chain(&app).await.len(), want.len());
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    a_member_that_goes_on_after_a_refused_statement,
    a_member_that_goes_on_after_a_refused_statement
);

/// The writer remembers the chain's head between groups; another writer
/// on the same database (the CLI, another instance) appending in between
/// makes it chain after the real head, not the remembered one.
async fn another_writer_between_groups_moves_the_head(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let store = app.state().store.clone();
    let now = app.clock.now_ms();
    member(store.clone(), now, 0).await.expect("first group");
    let url = app.settings.database.url.expose().to_string();
    let other = Store::connect(&url, 2)
        .await
        .expect("second store")
        .with_group_commit(pingate::store::GroupCommit {
            max: 1,
            ..Default::default()
        });
    for n in [1, 2] {
        let mut tx = other.begin(now).await.expect("begin");
        tx.audit(marker(n));
        tx.commit().await.expect("the other writer commits");
    }
    member(store.clone(), now, 4)
        .await
        .expect("after the other writer");
    member(store.clone(), now, 5).await.expect("and on");
    let markers = markers_in_chain(&app).await;
    assert_eq!(markers, vec![0, 1, 2, 4, 5]);
    other.close().await;
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    another_writer_between_groups_moves_the_head,
    another_writer_between_groups_moves_the_head
);

/// Many distinct signed webhooks at once: each is answered 200 only with
/// its call and its `call_received` event stored, and the chain verifies.
async fn concurrent_webhooks_are_each_stored_with_their_event(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let sids: Vec<String> = (0..40).map(|_| call_sid()).collect();
    let answers = futures_util::future::join_all(
        sids.iter()
            .map(|sid| app.call(sid, "+14155550100", Some("TN-Validation-Passed-A"))),
    )
    .await;
    assert_eq!(answers.len(), sids.len());
    let all = assert_gapless(&app).await;
    for sid in &sids {
        let received = all
            .iter()
            .filter(|e| e.kind == "call_received" && e.detail["provider_call_id"] == sid.as_str())
            .count();
        assert_eq!(received, 1, "{sid}");
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE provider_call_id = $1")
                .bind(sid)
                .fetch_one(app.state().store.reader())
                .await
                .expect("count");
        assert_eq!(stored, 1, "{sid}");
    }
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    concurrent_webhooks_are_each_stored_with_their_event,
    concurrent_webhooks_are_each_stored_with_their_event
);
