//! Upgrades: the database the previous release wrote
//! (tests/fixtures/upgrade, made by its make.sh) is told to need migrating,
//! is migrated by this code on start, keeps its history, verifies, and
//! serves the whole flow. Every later schema change must keep this green.

use std::path::{Path, PathBuf};

use pingate::config::Secret;
use reqwest::StatusCode;
use serde_json::json;

use crate::audit::verified_call;
use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, postgres_url};

/// The fixture's test-only pepper (examples/upgrade_fixture.rs).
const FIXTURE_PEPPER: &str = "upgrade-fixture-pepper-0123456789abcdef";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upgrade")
        .join(name)
}

/// `pingate --config FILE migrate --check`: (exit code, stdout).
fn migrate_check(dir: &Path, url: &str) -> (i32, String) {
    let config = dir.join("check.toml");
    let toml = format!(
        "[server]\ndata_dir = {:?}\n[database]\nurl = {url:?}\n[security]\npepper = {FIXTURE_PEPPER:?}\n",
        dir.display().to_string()
    );
    std::fs::write(&config, toml).expect("write config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pingate"))
        .arg("--config")
        .arg(&config)
        .args(["migrate", "--check"])
        .env_remove("PINGATE_LOG")
        .output()
        .expect("run pingate");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The fixture loaded into a database of its own: (URL, PostgreSQL
/// database name to drop afterwards).
async fn load_fixture(
    engine: Engine,
    dir: &Path,
    test: &str,
) -> Option<(String, Option<(String, String)>)> {
    match engine {
        Engine::Sqlite => {
            let db = dir.join("upgraded.db");
            std::fs::copy(fixture("pingate.sqlite"), &db).expect("copy the fixture");
            Some((format!("sqlite://{}", db.display()), None))
        }
        Engine::Postgres => {
            use sqlx::Connection;
            let base = postgres_url(test)?;
            let name = format!("pingate_u_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&base).await.expect("connect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create database");
            let (prefix, _) = base.rsplit_once('/').expect("URL has a database path");
            let url = format!("{prefix}/{name}");
            // psql meta-commands (\restrict) are not SQL; the rest is.
            let dump: String = std::fs::read_to_string(fixture("postgres.sql"))
                .expect("read the dump")
                .lines()
                .filter(|l| !l.starts_with('\\'))
                .collect::<Vec<_>>()
                .join("\n");
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(dump))
                .execute(&mut conn)
                .await
                .expect("load the dump");
            conn.close().await.expect("close");
            Some((url, Some((base, name))))
        }
    }
}

async fn drop_db(server: &str, name: &str) {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(server).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop database");
}

async fn the_previous_releases_database_migrates_and_serves_the_flow(engine: Engine, test: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((url, pg)) = load_fixture(engine, dir.path(), test).await else {
        return;
    };
    let key = dir.path().join("audit-signing.key");
    std::fs::copy(fixture("audit-signing.key"), &key).expect("copy the key");

    let (code, said) = migrate_check(dir.path(), &url);
    assert_eq!(code, 2, "the old database needs migrating: {said}");
    assert!(said.contains("database needs migrating"), "{said}");

    let tweak_url = url.clone();
    let opts = Options {
        tweak: Box::new(move |s| {
            s.database.url = Secret::from(tweak_url.as_str());
            s.security.pepper = Some(Secret::from(FIXTURE_PEPPER));
            s.audit.signing_key_file = Some(key);
        }),
        principals: ["upgrade-agent", "upgrade-reviewer", "upgrade-admin"],
        ..Options::default()
    };
    let app = TestApp::spawn_with(engine, test, opts)
        .await
        .expect("the server starts on the old database");
    let (code, said) = migrate_check(dir.path(), &url);
    assert_eq!(code, 0, "migrated on start: {said}");
    let (status, ready) = app.get("", "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{ready}");

    // The old history is there and verifies, with its signed checkpoint.
    let (status, v) = app.get(&app.reviewer_token, "/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], json!(true), "{v}");
    let old_events = v["events"].as_u64().expect("events");
    assert!(old_events >= 30, "the fixture's events: {v}");
    let (_, active) = app.get(&app.agent_token, "/v1/calls?status=active").await;
    assert_eq!(
        active["items"].as_array().map(Vec::len),
        Some(2),
        "the fixture's two calls in progress: {active}"
    );
    let (_, latest) = app.get(&app.reviewer_token, "/v1/audit/checkpoints").await;
    assert!(
        !latest["items"].as_array().expect("items").is_empty(),
        "{latest}"
    );

    // The whole flow on the upgraded database, and the trail still verifies.
    let (call_id, _) = verified_call(&app).await;
    let (status, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(
        (status, &call["verification"]),
        (StatusCode::OK, &json!("verified")),
        "{call}"
    );
    let (_, v) = app.get(&app.reviewer_token, "/v1/audit/verify").await;
    assert_eq!(v["ok"], json!(true), "{v}");
    assert!(v["events"].as_u64().expect("events") > old_events);
    app.shutdown().await;
    if let Some((server, name)) = pg {
        drop_db(&server, &name).await;
    }
}
on_both_engines!(
    the_previous_releases_database_migrates_and_serves_the_flow,
    the_previous_releases_database_migrates_and_serves_the_flow
);
