//! Jobs (`Store::write`): writes the group-commit writer runs on its own
//! task, the hot path's kind. They share groups with lent writes; one that
//! fails, even after it has written, or panics is rolled back alone and its
//! caller hears its own error; a job's value comes back only once its
//! changes are durable. And on SQLite the WAL is checkpointed off the
//! writer, by a background task, with group commit on or off.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use pingate::clock::Clock;
use pingate::store::{GroupCommit, Store, StoreError, StoreResult};

use super::group_commit::{
    MEMBERS, fails, marker, markers_in_chain, member, receipt_keys, until_waiting, verify_ok,
};
use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp};

/// A job that records a receipt and an audit event and returns `n`; a
/// failing one then gives up with an error of its own (no statement of
/// its failed: only a savepoint can undo what it wrote).
async fn job(store: Store, now: i64, n: u64) -> StoreResult<u64> {
    store
        .write(now, move |tx| {
            Box::pin(async move {
                pingate::store::quotas::first_receipt(tx.conn(), "test", &format!("r{n}"), now)
                    .await?;
                tx.audit(marker(n));
                if fails(n) {
                    return Err(StoreError::Corrupt(format!("member {n} gives up")));
                }
                Ok(n)
            })
        })
        .await
}

/// Members 0..4 of every eight are jobs, 4..8 lent writes; members 3 and
/// 7 of every eight fail.
fn is_job(n: u64) -> bool {
    n % 8 < 4
}

/// Runs [`MEMBERS`] writes at once behind a lent write that holds the
/// writer, so they share one to three groups: the jobs (see [`is_job`])
/// run by `job`, the rest lent writes. Each failed member hears its own
/// error (`job_error` checks a job's); exactly the others are committed,
/// each with its event, and the chain verifies.
pub(super) async fn jobs_and_lent_writes_in_groups<J, F>(
    app: &TestApp,
    job: J,
    job_error: fn(u64, StoreError),
) where
    J: Fn(Store, i64, u64) -> F,
    F: std::future::Future<Output = StoreResult<u64>> + Send + 'static,
{
    let store = app.state().store.clone();
    let now = app.clock.now_ms();
    let holder = store.begin(now).await.expect("begin");
    let before = store.group_stats();
    let members: Vec<_> = (0..MEMBERS)
        .map(|n| {
            if is_job(n) {
                let run = job(store.clone(), now, n);
                tokio::spawn(async move { run.await.map(|v| assert_eq!(v, n)) })
            } else {
                tokio::spawn(member(store.clone(), now, n))
            }
        })
        .collect();
    until_waiting(&store, MEMBERS).await;
    holder.commit().await.expect("the holder commits");
    for (n, handle) in members.into_iter().enumerate() {
        let n = n as u64;
        match handle.await.expect("member task") {
            Ok(()) => assert!(!fails(n), "member {n} should have failed"),
            Err(e) if is_job(n) => {
                assert!(fails(n), "member {n}: {e}");
                job_error(n, e);
            }
            Err(StoreError::Db(e)) => {
                assert!(fails(n), "member {n}: {e}");
                assert!(e.to_string().contains("no_such_table"), "member {n}: {e}");
            }
            Err(e) => panic!("member {n} got another's error: {e}"),
        }
    }
    let after = store.group_stats();
    let groups = after.groups - before.groups;
    assert!((1..=3).contains(&groups), "{before:?} -> {after:?}");

    let expected: Vec<i64> = (0..MEMBERS)
        .filter(|n| !fails(*n))
        .map(|n| n as i64)
        .collect();
    let mut committed = markers_in_chain(app).await;
    committed.sort_unstable();
    assert_eq!(committed, expected);
    let mut want: Vec<String> = expected.iter().map(|n| format!("r{n}")).collect();
    want.sort();
    assert_eq!(
        receipt_keys(&store).await,
        want,
        "a failed member's writes are rolled back"
    );
    verify_ok(app).await;
}

async fn jobs_and_lent_writes_share_groups_and_fail_alone(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    jobs_and_lent_writes_in_groups(&app, job, |n, e| match e {
        StoreError::Corrupt(why) => assert_eq!(why, format!("member {n} gives up")),
        other => panic!("member {n}: {other}"),
    })
    .await;
    app.shutdown().await;
}
on_both_engines!(
    jobs_and_lent_writes_share_groups_and_fail_alone,
    jobs_and_lent_writes_share_groups_and_fail_alone
);

/// A job that panics after writing runs on the writer's own task: it is
/// rolled back, its caller hears an error, and the writer goes on.
async fn a_job_that_panics_is_rolled_back_and_the_writer_goes_on(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let store = app.state().store.clone();
    let now = app.clock.now_ms();
    // Twice: as a group's first member and behind a finished one.
    for first in [true, false] {
        if !first {
            job(store.clone(), now, 40).await.expect("a job before");
        }
        let panicked: StoreResult<()> = store
            .write(now, move |tx| {
                Box::pin(async move {
                    pingate::store::quotas::first_receipt(tx.conn(), "test", "boom", now).await?;
                    tx.audit(marker(99));
                    panic!("a job that panics (expected in this test)");
                })
            })
            .await;
        let e = panicked.expect_err("the panicking job reports an error");
        assert!(e.to_string().contains("lost"), "{e}");
    }
    assert_eq!(
        job(store.clone(), now, 42)
            .await
            .expect("the writer goes on"),
        42
    );
    assert_eq!(
        receipt_keys(&store).await,
        vec!["r40".to_string(), "r42".to_string()]
    );
    assert_eq!(markers_in_chain(&app).await, vec![40, 42]);
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    a_job_that_panics_is_rolled_back_and_the_writer_goes_on,
    a_job_that_panics_is_rolled_back_and_the_writer_goes_on
);

/// With grouping off (`group_commit_max = 1`) a job runs in a transaction
/// of its own: kept when it returns Ok, rolled back when it fails.
async fn a_job_without_group_commit_is_its_own_transaction(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let url = app.settings.database.url.expose().to_string();
    let alone = Store::connect(&url, 2)
        .await
        .expect("second store")
        .with_group_commit(GroupCommit {
            max: 1,
            ..Default::default()
        });
    let now = app.clock.now_ms();
    assert_eq!(job(alone.clone(), now, 0).await.expect("kept"), 0);
    let failed = job(alone.clone(), now, 3).await;
    assert!(matches!(failed, Err(StoreError::Corrupt(_))), "{failed:?}");
    assert_eq!(alone.group_stats().groups, 0, "no writer ran");
    assert_eq!(receipt_keys(&alone).await, vec!["r0".to_string()]);
    alone.close().await;
    assert_eq!(markers_in_chain(&app).await, vec![0]);
    verify_ok(&app).await;
    app.shutdown().await;
}
on_both_engines!(
    a_job_without_group_commit_is_its_own_transaction,
    a_job_without_group_commit_is_its_own_transaction
);

/// The writer's connection leaves the WAL to a background task: a few
/// writes (far below any autocheckpoint) reach the database file itself
/// soon after they commit. Read with `immutable=true`, which ignores the
/// WAL: the rows are there only once a checkpoint copied them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_checkpointed_off_the_writer() {
    wal_reaches_the_file("the_wal_is_checkpointed_off_the_writer", 64).await;
}

/// The same without group commit: writes that each commit alone are
/// checkpointed too (the writer's own checkpoint is only a backstop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_checkpointed_without_group_commit() {
    wal_reaches_the_file("the_wal_is_checkpointed_without_group_commit", 1).await;
}

async fn wal_reaches_the_file(test: &str, group_commit_max: u32) {
    let opts = Options {
        tweak: Box::new(move |s| s.database.group_commit_max = group_commit_max),
        ..Options::default()
    };
    let app = TestApp::spawn_with(Engine::Sqlite, test, opts)
        .await
        .expect("sqlite");
    let store = app.state().store.clone();
    let now = app.clock.now_ms();
    for n in 0..3 {
        job(store.clone(), now, n).await.expect("write");
    }
    let url = app.settings.database.url.expose().to_string();
    let file_only = SqliteConnectOptions::from_str(&url)
        .expect("url")
        .read_only(true)
        .immutable(true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut db = SqliteConnection::connect_with(&file_only)
            .await
            .expect("the file, read-only");
        // Until a checkpoint, the file may lack even the tables (the
        // migrations are in the WAL too).
        let keys: Result<Vec<String>, _> = sqlx::query_scalar(
            "SELECT key FROM webhook_receipts WHERE provider = 'test' ORDER BY key",
        )
        .fetch_all(&mut db)
        .await;
        db.close().await.expect("close");
        if let Ok(keys) = &keys
            && keys.len() == 3
        {
            assert_eq!(keys, &["r0", "r1", "r2"]);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the database file still lacks the writes: {keys:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.shutdown().await;
}
