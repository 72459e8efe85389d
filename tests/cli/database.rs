//! The database and key files: `migrate` on SQLite and PostgreSQL, and what
//! `serve` creates on first start, private to the service's user.

use std::path::Path;

use super::{Workspace, free_port};

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn migrate_creates_a_fresh_sqlite_database_and_is_repeatable() {
    let ws = Workspace::new();
    ws.write(
        "m.toml",
        "[database]\nurl = \"sqlite://deep/er/pingate.db\"\n",
    );
    let run = ws.run(&["--config", "m.toml", "migrate"]).ok();
    assert!(run.stderr.contains("migrations applied"), "{}", run.stderr);
    assert!(ws.path("deep/er/pingate.db").exists());
    ws.run(&["--config", "m.toml", "migrate"]).ok();
}

#[cfg(unix)]
#[tokio::test]
async fn serve_without_configuration_creates_the_database_and_private_keys() {
    let ws = Workspace::new();
    let port = free_port();
    // No file at all; only the port moves off 8080 so tests never collide
    // with a developer's server.
    let listen = format!("127.0.0.1:{port}");
    let server = ws
        .serve(
            &["serve"],
            &[("PINGATE__SERVER__LISTEN", listen.as_str())],
            port,
        )
        .await;
    assert!(
        ws.path("data/pingate.db").exists(),
        "data/pingate.db was not created"
    );
    for file in ["data/pepper", "data/audit-signing.key"] {
        let path = ws.path(file);
        assert!(path.exists(), "{file} was not created");
        assert_eq!(mode(&path), 0o600, "{file} has mode {:o}", mode(&path));
    }
    let status = server.terminate().await;
    assert!(
        status.success(),
        "SIGTERM should end serve gracefully with 0, got {status}"
    );
}

/// The database holds the org profiles' contacts, callers' numbers and
/// token hashes: only the service's user may read it.
#[cfg(unix)]
#[test]
fn the_default_sqlite_database_is_created_private() {
    let ws = Workspace::new();
    ws.run(&["migrate"]).ok();
    let path = ws.path("data/pingate.db");
    assert!(path.exists(), "data/pingate.db was not created");
    assert_eq!(
        mode(&path),
        0o600,
        "data/pingate.db has mode {:o}",
        mode(&path)
    );
}
#[tokio::test]
#[cfg_attr(
    not(pingate_test_postgres),
    ignore = "PostgreSQL only: set PINGATE_TEST_DATABASE_URL to run it"
)]
async fn postgres_migrate_and_agent_add() {
    let Some(db) = ScratchDatabase::create().await else {
        return;
    };
    let url = db.url.clone();

    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    // The database URL from the environment, as the README recommends.
    let env = [("PINGATE__DATABASE__URL", url.as_str())];
    let run = ws
        .run_env(&["--config", "pingate.toml", "migrate"], &env)
        .ok();
    assert!(run.stderr.contains("migrations applied"), "{}", run.stderr);
    let run = ws
        .run_env(
            &[
                "--config",
                "pingate.toml",
                "agent",
                "add",
                "alice",
                "--role",
                "agent",
            ],
            &env,
        )
        .ok();
    assert!(
        run.stdout.starts_with("pga_") && run.stdout.lines().count() == 1,
        "{}",
        run.stdout
    );
    let run = ws
        .run_env(&["--config", "pingate.toml", "audit", "verify"], &env)
        .ok();
    assert!(
        run.stdout.starts_with("ok: 1 events verified"),
        "{}",
        run.stdout
    );
    assert!(
        !ws.path("data/pingate.db").exists(),
        "SQLite was used instead of PostgreSQL"
    );

    let mut conn = {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&url)
            .await
            .expect("connect to the CLI's database")
    };
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM principals")
        .fetch_all(&mut conn)
        .await
        .expect("principals");
    assert_eq!(names, vec!["alice".to_string()]);
}

/// A PostgreSQL database of this test's own, dropped when the guard goes
/// (also on a panic: its own thread and runtime, since `Drop` cannot await).
pub(super) struct ScratchDatabase {
    pub(super) url: String,
    pub(super) server: String,
    name: String,
}

impl ScratchDatabase {
    /// None, with a line saying so, when no server is configured (and a
    /// failure under CI, where every variant must run).
    pub(super) async fn create() -> Option<ScratchDatabase> {
        use sqlx::Connection;
        let server = match std::env::var("PINGATE_TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but PINGATE_TEST_DATABASE_URL is not"
                );
                eprintln!("SKIPPED: set PINGATE_TEST_DATABASE_URL to run on PostgreSQL");
                return None;
            }
        };
        let name = format!("pingate_cli_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .expect("connect to PINGATE_TEST_DATABASE_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create database");
        admin.close().await.expect("close");
        let (prefix, _) = server.rsplit_once('/').expect("URL has a database path");
        let url = format!("{prefix}/{name}");
        Some(ScratchDatabase { url, server, name })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            use sqlx::Connection;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .map(|_| ())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Under CI the PostgreSQL test must really run, not be compiled ignored.
#[test]
fn ci_runs_the_postgres_test() {
    if std::env::var_os("CI").is_some() && !cfg!(pingate_test_postgres) {
        panic!(
            "CI is set but this build saw no PINGATE_TEST_DATABASE_URL: the PostgreSQL test would be skipped"
        );
    }
}
