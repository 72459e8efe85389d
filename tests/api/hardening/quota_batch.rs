//! Quota charges in one batch (`quotas::charge_all`, a PIN check charges
//! four quotas in three statements): each use is counted in its own
//! rolling window and answered in the order it was asked, whatever order
//! the keys lock in; a key charged twice in one batch counts both uses.

use pingate::store::quotas::{self, Counting, Rolling, Use};
use pingate::store::{StoreResult, WriteTx};

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

const WINDOW_MS: i64 = 60_000;

fn uses<'a>(scope: &'a str, key: &'a str) -> Use<'a> {
    Use {
        scope,
        key,
        counting: Counting::Uses,
    }
}

fn members<'a>(scope: &'a str, key: &'a str, member: &'a str) -> Use<'a> {
    Use {
        scope,
        key,
        counting: Counting::Members(member),
    }
}

/// One batch at `now` in a transaction of its own.
async fn charge(app: &TestApp, batch: &[Use<'_>], now: i64) -> StoreResult<Vec<Rolling>> {
    let mut tx: WriteTx = app.state().store.begin(now).await?;
    let counts = quotas::charge_all(tx.conn(), batch, WINDOW_MS, now).await?;
    tx.commit().await?;
    Ok(counts)
}

fn used(counts: &[Rolling]) -> Vec<i64> {
    counts.iter().map(|c| c.used).collect()
}

async fn a_batch_counts_each_use_in_its_own_window(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let t0 = 1_000_000;
    // Keys out of lock order, one of them twice.
    let first = [
        uses("zeta", "k"),
        uses("alpha", "k"),
        uses("zeta", "k"),
        members("orgs", "agent", "contoso"),
    ];
    let counts = charge(&app, &first, t0).await.expect("first batch");
    assert_eq!(used(&counts), [2, 1, 2, 1]);
    assert!(counts.iter().all(|c| c.oldest == t0), "{counts:?}");

    let second = [
        members("orgs", "agent", "contoso"),
        members("orgs", "agent", "fabrikam"),
        uses("alpha", "k"),
        uses("alpha", "other"),
    ];
    let counts = charge(&app, &second, t0 + 10).await.expect("second batch");
    // The same org again is no new member; a second org is, and the
    // batch's uses are all in before either is counted.
    assert_eq!(used(&counts), [2, 2, 2, 1]);
    assert_eq!(
        counts[2].oldest, t0,
        "alpha/k's oldest use is the first batch's"
    );
    assert_eq!(counts[3].oldest, t0 + 10);

    // A window later the first batch's uses have left it.
    let later = t0 + WINDOW_MS + 5;
    let counts = charge(&app, &[uses("zeta", "k"), uses("alpha", "k")], later)
        .await
        .expect("a window later");
    assert_eq!(used(&counts), [1, 2]);
    assert_eq!(counts[1].oldest, t0 + 10);
    app.shutdown().await;
}
on_both_engines!(
    a_batch_counts_each_use_in_its_own_window,
    a_batch_counts_each_use_in_its_own_window
);

async fn an_empty_batch_charges_nothing(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    assert!(charge(&app, &[], 5).await.expect("empty").is_empty());
    let counts = charge(&app, &[uses("alpha", "k")], 6).await.expect("one");
    assert_eq!(used(&counts), [1]);
    app.shutdown().await;
}
on_both_engines!(
    an_empty_batch_charges_nothing,
    an_empty_batch_charges_nothing
);
