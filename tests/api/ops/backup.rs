//! Backups under load: `pingate backup FILE` (SQLite) and `pg_dump`
//! (PostgreSQL) while signed webhooks keep arriving; the copy restores into
//! a server of its own, verifies, and serves the flow.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use pingate::config::Secret;
use reqwest::StatusCode;
use serde_json::json;

use crate::audit::{cli, take_checkpoint, verified_call, verify_api};
use crate::support::app::{Engine, Options, TestApp, call_sid, postgres_url};

/// Signed voice webhooks from `conns` connections until `stop`; counts the
/// calls answered 200.
fn load(
    app: &Arc<TestApp>,
    conns: usize,
    stop: &Arc<AtomicBool>,
    done: &Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..conns)
        .map(|_| {
            let (app, stop, done) = (Arc::clone(app), Arc::clone(stop), Arc::clone(done));
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    app.call(&call_sid(), "+14155550177", None).await;
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect()
}

/// A server on the restored database with the original's keys; checks the
/// trail and runs the flow. Returns the number of events it verified.
async fn serve_restored(original: &TestApp, url: String, test: &str) -> u64 {
    let key = original.settings.signing_key_path();
    let opts = Options {
        tweak: Box::new(move |s| {
            s.database.url = Secret::from(url.as_str());
            s.audit.signing_key_file = Some(key);
        }),
        principals: ["restored-agent", "restored-reviewer", "restored-admin"],
        ..Options::default()
    };
    let restored = TestApp::spawn_with(original.engine, test, opts)
        .await
        .expect("a server starts on the restored copy");
    let v = verify_api(&restored).await;
    assert_eq!(v["ok"], json!(true), "the restored trail verifies: {v}");
    let events = v["events"].as_u64().expect("events");
    let (call_id, _) = verified_call(&restored).await;
    let (status, call) = restored
        .get(&restored.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(
        (status, &call["verification"]),
        (StatusCode::OK, &json!("verified")),
        "{call}"
    );
    restored.shutdown().await;
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_taken_under_load_restores_and_verifies() {
    let test = "a_sqlite_backup_taken_under_load_restores_and_verifies";
    let app = Arc::new(TestApp::spawn(Engine::Sqlite, test).await.expect("sqlite"));
    app.import_contoso().await;
    verified_call(&app).await;
    take_checkpoint(&app).await;

    let (stop, done) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let drivers = load(&app, 8, &stop, &done);
    while done.load(Ordering::SeqCst) < 20 {
        tokio::task::yield_now().await;
    }
    let copy = app.dir.path().join("backup.db");
    let before = done.load(Ordering::SeqCst);
    let out = cli(&app, &["backup", copy.to_str().expect("utf-8")]).await;
    let during = done.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    for d in drivers {
        d.await.expect("driver");
    }
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("backup written to"), "{}", out.stdout);
    assert!(during > 0, "webhooks kept arriving while the backup ran");
    let again = cli(&app, &["backup", copy.to_str().expect("utf-8")]).await;
    assert!(
        !again.ok && again.stderr.contains("already exists"),
        "{}",
        again.stderr
    );

    let app = Arc::into_inner(app).expect("drivers done");
    let restored_dir = tempfile::tempdir().expect("tempdir");
    let restored = restored_dir.path().join("pingate.db");
    std::fs::copy(&copy, &restored).expect("restore = copy the file back");
    let url = format!("sqlite://{}", restored.display());
    let events = serve_restored(&app, url, test).await;
    assert!(events > 10, "the copy holds the trail: {events}");
    app.shutdown().await;
}

/// Runs a program to completion; panics with its output on failure.
fn run(program: &str, args: &[&str], stdin: Option<&Path>) -> String {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    if let Some(f) = stdin {
        cmd.stdin(std::fs::File::open(f).expect("open input"));
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pingate_test_postgres),
    ignore = "PostgreSQL variant: set PINGATE_TEST_DATABASE_URL to run it"
)]
async fn a_pg_dump_taken_under_load_restores_and_verifies() {
    let test = "a_pg_dump_taken_under_load_restores_and_verifies";
    let Some(server) = postgres_url(test) else {
        return;
    };
    let app = Arc::new(
        TestApp::spawn(Engine::Postgres, test)
            .await
            .expect("postgres"),
    );
    app.import_contoso().await;
    verified_call(&app).await;
    take_checkpoint(&app).await;

    let (stop, done) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let drivers = load(&app, 8, &stop, &done);
    while done.load(Ordering::SeqCst) < 20 {
        tokio::task::yield_now().await;
    }
    let dump = app.dir.path().join("backup.dump");
    let url = app.settings.database.url.expose().to_string();
    let dump_arg = dump.to_str().expect("utf-8").to_string();
    let before = done.load(Ordering::SeqCst);
    tokio::task::spawn_blocking(move || {
        run(
            "pg_dump",
            &["--format=custom", "--file", &dump_arg, &url],
            None,
        )
    })
    .await
    .expect("pg_dump");
    let during = done.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    for d in drivers {
        d.await.expect("driver");
    }
    assert!(during > 0, "webhooks kept arriving while pg_dump ran");

    let name = format!("pingate_r_{}", uuid::Uuid::new_v4().simple());
    let (prefix, _) = server.rsplit_once('/').expect("URL has a database path");
    let restored = format!("{prefix}/{name}");
    run("createdb", &["--maintenance-db", &server, &name], None);
    run(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            &restored,
            dump.to_str().expect("utf-8"),
        ],
        None,
    );
    let app = Arc::into_inner(app).expect("drivers done");
    let events = serve_restored(&app, restored, test).await;
    assert!(events > 10, "the dump holds the trail: {events}");
    app.shutdown().await;
    run(
        "dropdb",
        &["--maintenance-db", &server, "--force", &name],
        None,
    );
}
