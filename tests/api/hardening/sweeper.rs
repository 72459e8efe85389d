//! Challenges that expire untouched: the sweeper records the expiry in the
//! audit trail and wipes the sealed PIN and the queued message body, once,
//! however many instances sweep.

use std::time::Duration;

use sqlx::Row;

use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp};

/// (status, PIN still sealed, sealed message bodies left) of a challenge.
async fn sealed_state(app: &TestApp, challenge_id: &str) -> (String, bool, i64) {
    let pool = app.state().store.reader();
    let row = sqlx::query(
        "SELECT status, CASE WHEN pin_sealed IS NULL THEN 0 ELSE 1 END AS sealed \
         FROM challenges WHERE id = $1",
    )
    .bind(challenge_id)
    .fetch_one(pool)
    .await
    .expect("challenge row");
    let bodies = sqlx::query(
        "SELECT COUNT(*) AS n FROM messages WHERE challenge_id = $1 AND body_sealed IS NOT NULL",
    )
    .bind(challenge_id)
    .fetch_one(pool)
    .await
    .expect("messages");
    (
        row.get::<String, _>("status"),
        row.get::<i64, _>("sealed") == 1,
        bodies.get::<i64, _>("n"),
    )
}

async fn an_untouched_expired_challenge_is_recorded_and_wiped(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (_, challenge_id) = app.pending_challenge("+14155550123").await;
    app.smtp.wait_for(1, Duration::from_secs(20)).await;
    let (status, sealed, bodies) = sealed_state(&app, &challenge_id).await;
    assert_eq!((status.as_str(), sealed, bodies), ("pending", true, 1));

    // Nobody checks, resends or hangs up: only time passes.
    app.clock
        .advance(app.settings.pin.ttl.0 + Duration::from_secs(1));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let expired = loop {
        let events: Vec<_> = app
            .events("challenge_expired")
            .await
            .into_iter()
            .filter(|e| e["challenge_id"] == challenge_id.as_str())
            .collect();
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(expired.len(), 1, "the expiry is audited once");
    let (status, sealed, bodies) = sealed_state(&app, &challenge_id).await;
    assert_eq!((status.as_str(), sealed, bodies), ("expired", false, 0));
    app.shutdown().await;
}
on_both_engines!(
    an_untouched_expired_challenge_is_recorded_and_wiped,
    an_untouched_expired_challenge_is_recorded_and_wiped
);

/// Several instances sweeping one database at once (here: four sweeps in
/// parallel on it) expire and audit each challenge exactly once.
async fn parallel_sweeps_expire_each_challenge_once(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| {
            s.limits.sends_per_destination = 100;
            s.limits.challenges_per_org = 100;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let (_, id) = app
            .pending_challenge(&format!("+1415555{:04}", 2000 + i))
            .await;
        ids.push(id);
    }
    app.clock
        .advance(app.settings.pin.ttl.0 + Duration::from_secs(1));
    let state = app.state();
    let sweeps = (0..4).map(|_| pingate::service::sweeper::sweep(state));
    let expired: usize = futures_util::future::join_all(sweeps)
        .await
        .into_iter()
        .map(|r| r.expect("sweep"))
        .sum();
    // The server's own sweeper may have taken some in the meantime.
    assert!(
        expired <= ids.len(),
        "{expired} expiries for {} challenges",
        ids.len()
    );
    let events = app.events("challenge_expired").await;
    for id in &ids {
        let n = events
            .iter()
            .filter(|e| e["challenge_id"] == id.as_str())
            .count();
        assert_eq!(n, 1, "{id} expired {n} times");
        let (status, sealed, bodies) = sealed_state(&app, id).await;
        assert_eq!((status.as_str(), sealed, bodies), ("expired", false, 0));
    }
    app.shutdown().await;
}
on_both_engines!(
    parallel_sweeps_expire_each_challenge_once,
    parallel_sweeps_expire_each_challenge_once
);
