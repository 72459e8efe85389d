//! An event's `at` is taken when it joins the chain (under the audit
//! lock), so `at` never runs backwards along `seq`, on either engine.

use std::time::Duration;

use pingate::audit::event::{EventKind, NewEvent, Outcome};
use pingate::clock::Clock;
use pingate::store::audit::{self, AuditFilter};

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

fn marker(n: i64) -> NewEvent {
    NewEvent::new(EventKind::OrgUpdated, "test:order", Outcome::Success).detail("n", n)
}

async fn stamps(app: &TestApp) -> Vec<(i64, i64, i64)> {
    let filter = AuditFilter {
        actor: Some("test:order".into()),
        ..AuditFilter::default()
    };
    let events = audit::list(app.state().store.reader(), &filter, 100)
        .await
        .expect("list");
    events
        .iter()
        .map(|e| (e.seq, e.at, e.detail["n"].as_i64().unwrap_or(-1)))
        .collect()
}

/// A transaction that began before a slow step is stamped when it
/// appends, not when it began.
async fn an_event_is_stamped_when_it_is_appended(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let store = &app.state().store;
    let began = app.clock.now_ms();
    let mut tx = store.begin(began).await.expect("begin");
    tx.audit(marker(1));
    app.clock.advance(Duration::from_secs(3600));
    tx.commit().await.expect("commit");
    let got = stamps(&app).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].1 >= began + 3_600_000,
        "stamped at {} though appended an hour after {began}",
        got[0].1
    );
    app.shutdown().await;
}
on_both_engines!(
    an_event_is_stamped_when_it_is_appended,
    an_event_is_stamped_when_it_is_appended
);

/// PostgreSQL: two transactions overlap, the later one appends first.
/// The earlier one's event gets the next `seq` and an `at` no earlier.
/// Group commit is off: transactions overlap like this between instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_writes_never_put_at_out_of_seq_order_on_postgres() {
    let test = "overlapping_writes_never_put_at_out_of_seq_order_on_postgres";
    let opts = crate::support::app::Options {
        tweak: Box::new(|s| s.database.group_commit_max = 1),
        ..Default::default()
    };
    let Some(app) = TestApp::spawn_with(Engine::Postgres, test, opts).await else {
        return;
    };
    let store = &app.state().store;
    let mut first = store.begin(app.clock.now_ms()).await.expect("begin");
    first.audit(marker(1));
    app.clock.advance(Duration::from_secs(60));
    let mut second = store.begin(app.clock.now_ms()).await.expect("begin");
    second.audit(marker(2));
    second.commit().await.expect("commit second");
    first.commit().await.expect("commit first");
    let got = stamps(&app).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].2, got[1].2), (2, 1), "the second appended first");
    assert!(got[0].1 <= got[1].1, "at runs backwards along seq: {got:?}");
    app.shutdown().await;
}
