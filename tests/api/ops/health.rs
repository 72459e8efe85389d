//! What an orchestrator and a dashboard see: `/readyz` refusing traffic
//! while a migration is pending or the disk is nearly full, and the
//! database's size and oldest rows in `/metrics`.

use std::time::Duration;

use reqwest::StatusCode;

use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp};

async fn readyz(app: &TestApp) -> (StatusCode, String) {
    let resp = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    (resp.status(), resp.text().await.expect("body"))
}

async fn readyz_fails_while_a_migration_is_pending(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("up to date"), "{body}");
    // As if another instance's older binary had the database, or a
    // migration were rolled back: the newest one is missing.
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(app.state().store.reader())
    .await
    .expect("forget a migration");
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("needs migrating (1 pending"), "{body}");
    app.shutdown().await;
}
on_both_engines!(
    readyz_fails_while_a_migration_is_pending,
    readyz_fails_while_a_migration_is_pending
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_when_the_database_disk_is_nearly_full() {
    // No test may fill a shared disk: ask for more free space than any
    // working disk has instead.
    let opts = Options {
        tweak: Box::new(|s| s.database.min_free_disk_percent = 99),
        ..Options::default()
    };
    let app = TestApp::spawn_with(Engine::Sqlite, "disk", opts)
        .await
        .expect("sqlite");
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("disk is nearly full"), "{body}");
    assert!(body.contains("urn:pingate:problem:not-ready"), "{body}");
    app.shutdown().await;
}

/// The value of one sample in a Prometheus text body.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics_show_the_database_size_and_its_oldest_rows(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    app.new_call("+14155550123", None).await;
    app.clock.advance(Duration::from_secs(3 * 86_400));
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let size = sample(&text, "pingate_database_size_bytes").expect("size gauge");
    assert!(size > 10_000.0, "a migrated database is not empty: {size}");
    let age = sample(&text, "pingate_oldest_row_age_seconds{table=\"calls\"}").expect("calls age");
    assert!(
        (3.0 * 86_400.0..4.0 * 86_400.0).contains(&age),
        "the call is three days old: {age}"
    );
    assert!(
        sample(
            &text,
            "pingate_oldest_row_age_seconds{table=\"audit_events\"}"
        )
        .is_some()
    );
    app.shutdown().await;
}
on_both_engines!(
    metrics_show_the_database_size_and_its_oldest_rows,
    metrics_show_the_database_size_and_its_oldest_rows
);
