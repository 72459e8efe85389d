//! One-statement jobs (`Store::write_one`, the voice webhook's kind): on
//! SQLite they run in a group with no savepoint, since SQLite undoes a
//! failed statement by itself. One that fails is still undone alone, even
//! when its statement had written a row before it failed; one that panics,
//! or whose error made SQLite roll the transaction back, fails its group,
//! and nothing of the group is kept.

use futures_util::future::BoxFuture;
use pingate::clock::Clock;
use pingate::store::{Store, StoreError, StoreResult, WriteTx};

use super::group_commit::{
    fails, marker, markers_in_chain, receipt_keys, until_waiting, verify_ok,
};
use super::group_jobs::jobs_and_lent_writes_in_groups;
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

const ONE_ROW: &str =
    "INSERT INTO webhook_receipts (provider, key, received_at) VALUES ('test', $1, $2)";
/// The second row breaks the unique key after the first went in.
const TWO_ROWS: &str = "INSERT INTO webhook_receipts (provider, key, received_at) \
     VALUES ('test', $1, $2), ('test', $1, $2)";

/// A one-statement job that records receipt `r{n}` and an audit event and
/// returns `n`; a failing one's statement fails half-way.
async fn one(store: Store, now: i64, n: u64) -> StoreResult<u64> {
    store
        .write_one(now, move |tx| {
            Box::pin(async move {
                let sql = if fails(n) { TWO_ROWS } else { ONE_ROW };
                sqlx::query(sql)
                    .bind(format!("r{n}"))
                    .bind(now)
                    .execute(tx.conn())
                    .await?;
                tx.audit(marker(n));
                Ok(n)
            })
        })
        .await
}

/// A job with a savepoint of its own (`Store::write`) recording `r{n}`.
async fn many(store: Store, now: i64, n: u64) -> StoreResult<()> {
    store
        .write(now, move |tx| {
            Box::pin(async move {
                pingate::store::quotas::first_receipt(tx.conn(), "test", &format!("r{n}"), now)
                    .await?;
                tx.audit(marker(n));
                Ok(())
            })
        })
        .await
}

/// A failed one-statement job is undone alone, even the row its statement
/// wrote before it failed.
async fn one_statement_jobs_share_groups_and_fail_alone(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    jobs_and_lent_writes_in_groups(&app, one, |n, e| match e {
        StoreError::Db(e) if e.to_string().to_lowercase().contains("unique") => {}
        other => panic!("member {n}: {other}"),
    })
    .await;
    app.shutdown().await;
}
on_both_engines!(
    one_statement_jobs_share_groups_and_fail_alone,
    one_statement_jobs_share_groups_and_fail_alone
);

/// A lent write records r1 and, while it holds the writer, `second` and
/// then a job recording r3 queue behind it, so the three share a group;
/// returns what each was told.
async fn three_in_one_group<F>(
    store: &Store,
    now: i64,
    second: F,
) -> (StoreResult<()>, StoreResult<()>, StoreResult<()>)
where
    F: std::future::Future<Output = StoreResult<()>> + Send + 'static,
{
    let mut first = store.begin(now).await.expect("begin");
    pingate::store::quotas::first_receipt(first.conn(), "test", "r1", now)
        .await
        .expect("r1");
    first.audit(marker(1));
    let second = tokio::spawn(second);
    until_waiting(store, 1).await;
    let third = tokio::spawn(many(store.clone(), now, 3));
    until_waiting(store, 2).await;
    (
        first.commit().await,
        second.await.expect("second"),
        third.await.expect("third"),
    )
}

/// The lent write heard that its group failed and nothing of that group
/// was kept; the job queued behind it went into the next group, and the
/// writer goes on.
async fn group_failed_and_writer_goes_on(
    app: &TestApp,
    told: (StoreResult<()>, StoreResult<()>, StoreResult<()>),
) {
    let (first, _, third) = told;
    assert!(
        matches!(first, Err(StoreError::GroupFailed(_))),
        "{first:?}"
    );
    third.expect("the job behind the failed group is kept");
    let store = app.state().store.clone();
    assert_eq!(receipt_keys(&store).await, vec!["r3".to_string()]);
    assert_eq!(markers_in_chain(app).await, vec![3]);
    let now = app.clock.now_ms();
    assert_eq!(
        one(store.clone(), now, 4)
            .await
            .expect("the writer goes on"),
        4
    );
    assert_eq!(
        receipt_keys(&store).await,
        vec!["r3".to_string(), "r4".to_string()]
    );
    verify_ok(app).await;
}

/// A one-statement job that panics after its statement may have changed
/// anything: without a savepoint to undo it alone, its group goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_statement_job_that_panics_fails_its_group() {
    let test = "a_one_statement_job_that_panics_fails_its_group";
    let app = TestApp::spawn(Engine::Sqlite, test).await.expect("sqlite");
    let store = app.state().store.clone();
    let now = app.clock.now_ms();
    let writer = store.clone();
    let panics = async move {
        writer
            .write_one(now, move |tx| {
                Box::pin(async move {
                    sqlx::query(ONE_ROW)
                        .bind("r2")
                        .bind(now)
                        .execute(tx.conn())
                        .await?;
                    panic!("a one-statement job that panics (expected in this test)");
                })
            })
            .await
    };
    let told = three_in_one_group(&store, now, panics).await;
    let e = told
        .1
        .as_ref()
        .expect_err("the panicking job hears an error");
    assert!(e.to_string().contains("lost"), "{e}");
    group_failed_and_writer_goes_on(&app, told).await;
    app.shutdown().await;
}

/// After some errors (a full disk, an I/O error) SQLite rolls the whole
/// transaction back by itself. A job that fails then fails its group: a
/// one-statement job must not let the group go on, or the members after
/// it would write outside any transaction, each statement committing at
/// once; and the connection, which sqlx still believes inside a
/// transaction, must not refuse every later group. The job here rolls
/// back exactly as SQLite would, then fails; once as a one-statement job
/// (no savepoint), once with a savepoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_sqlite_rolled_back_fails_the_group() {
    let test = "a_transaction_sqlite_rolled_back_fails_the_group";
    for savepoint in [false, true] {
        let app = TestApp::spawn(Engine::Sqlite, test).await.expect("sqlite");
        let store = app.state().store.clone();
        let now = app.clock.now_ms();
        let writer = store.clone();
        let rolled_back = async move {
            if savepoint {
                writer.write(now, roll_back_and_fail).await
            } else {
                writer.write_one(now, roll_back_and_fail).await
            }
        };
        let told = three_in_one_group(&store, now, rolled_back).await;
        assert!(
            matches!(&told.1, Err(StoreError::Corrupt(why)) if why == "the disk is full"),
            "the failed job hears its own error: {:?}",
            told.1
        );
        group_failed_and_writer_goes_on(&app, told).await;
        app.shutdown().await;
    }
}

/// Rolls the transaction back as SQLite does after a full disk, then fails.
fn roll_back_and_fail(tx: &mut WriteTx) -> BoxFuture<'_, StoreResult<()>> {
    Box::pin(async move {
        sqlx::query("ROLLBACK").execute(tx.conn()).await?;
        Err(StoreError::Corrupt("the disk is full".into()))
    })
}
