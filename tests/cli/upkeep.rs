//! The operator's upkeep commands: `migrate --check`, `retention run`,
//! `backup`, and the systemd unit that runs `serve`.

use std::path::Path;

use super::Workspace;

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const SQLITE: &str =
    "[database]\nurl = \"sqlite://data/pingate.db\"\n[server]\ndata_dir = \"data\"\n";

async fn sqlite(ws: &Workspace, sql: &str) {
    use sqlx::Connection;
    let url = format!("sqlite://{}", ws.path("data/pingate.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .expect("sql");
    conn.close().await.expect("close");
}

#[tokio::test]
async fn migrate_check_says_whether_a_database_needs_migrating_and_changes_nothing() {
    let ws = Workspace::new();
    ws.write("m.toml", SQLITE);
    let run = ws
        .run(&["--config", "m.toml", "migrate", "--check"])
        .refused();
    assert!(run.stderr.contains("no database at"), "{}", run.stderr);
    assert!(
        !ws.path("data/pingate.db").exists(),
        "--check created a database"
    );

    ws.run(&["--config", "m.toml", "migrate"]).ok();
    let run = ws.run(&["--config", "m.toml", "migrate", "--check"]).ok();
    assert!(
        run.stdout.contains("database is up to date"),
        "{}",
        run.stdout
    );

    // A migration this release does not know: a newer release was here.
    sqlite(&ws, "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
                 SELECT 9999, 'from the future', installed_on, success, checksum, 0 FROM _sqlx_migrations LIMIT 1").await;
    let run = ws
        .run(&["--config", "m.toml", "migrate", "--check"])
        .refused();
    assert!(run.stderr.contains("newer release"), "{}", run.stderr);
    sqlite(&ws, "DELETE FROM _sqlx_migrations WHERE version = 9999").await;

    // As if the newest migration had not run yet.
    sqlite(
        &ws,
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .await;
    let db = ws.path("data/pingate.db");
    let before = bytes(&db);
    let run = ws.run(&["--config", "m.toml", "migrate", "--check"]);
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert!(
        run.stdout.contains("database needs migrating: 1 pending"),
        "{}",
        run.stdout
    );
    assert_eq!(bytes(&db), before, "--check changed the database");
}

#[tokio::test]
async fn retention_run_deletes_what_the_policy_lets_go_and_a_dry_run_nothing() {
    let ws = Workspace::new();
    ws.write("r.toml", SQLITE);
    ws.run(&["--config", "r.toml", "migrate"]).ok();
    // A webhook receipt from 1970 and one from now.
    sqlite(
        &ws,
        "INSERT INTO webhook_receipts (provider, key, received_at) VALUES \
                 ('twilio', 'old', 1000), ('twilio', 'new', 9000000000000)",
    )
    .await;
    let db = ws.path("data/pingate.db");
    let before = bytes(&db);
    let run = ws
        .run(&["--config", "r.toml", "retention", "run", "--dry-run"])
        .ok();
    assert!(
        run.stdout
            .contains("would delete 1 row(s); nothing was changed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("webhook_receipts         1"),
        "{}",
        run.stdout
    );
    assert_eq!(bytes(&db), before, "a dry run changed the database");

    let run = ws.run(&["--config", "r.toml", "retention", "run"]).ok();
    assert!(
        run.stdout.contains("deleted 1 row(s) in 1 batch(es)"),
        "{}",
        run.stdout
    );
    let run = ws
        .run(&["--config", "r.toml", "retention", "run", "--dry-run"])
        .ok();
    assert!(
        run.stdout.contains("would delete 0 row(s)"),
        "{}",
        run.stdout
    );
    let run = ws.run(&["--config", "r.toml", "audit", "export"]).ok();
    let runs: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("\"retention_run\""))
        .collect();
    assert_eq!(
        runs.len(),
        1,
        "one event for the one real run: {}",
        run.stdout
    );
    assert!(runs[0].contains("\"webhook_receipts\":1"), "{}", runs[0]);
    ws.run(&["--config", "r.toml", "audit", "verify"]).ok();
}

#[tokio::test]
async fn backup_writes_a_private_verified_copy_and_never_overwrites() {
    let ws = Workspace::new();
    ws.write("b.toml", SQLITE);
    ws.run(&[
        "--config", "b.toml", "agent", "add", "alice", "--role", "agent",
    ])
    .ok();
    let run = ws.run(&["--config", "b.toml", "backup", "copy.db"]).ok();
    assert!(
        run.stdout.contains("backup written to copy.db"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ok: 1 events verified"),
        "{}",
        run.stdout
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ws.path("copy.db"))
            .expect("copy")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the copy is private");
    }
    let copy = bytes(&ws.path("copy.db"));
    let run = ws
        .run(&["--config", "b.toml", "backup", "copy.db"])
        .refused();
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(
        bytes(&ws.path("copy.db")),
        copy,
        "the existing file is untouched"
    );

    ws.write(
        "pg.toml",
        "[database]\nurl = \"postgres://nobody@127.0.0.1:1/none\"\n",
    );
    let run = ws
        .run(&["--config", "pg.toml", "backup", "pg.db"])
        .refused();
    assert!(run.stderr.contains("pg_dump"), "{}", run.stderr);
    assert!(!ws.path("pg.db").exists());
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/pingate.service"),
    )
    .expect("config/pingate.service");
    for directive in [
        "DynamicUser=yes",
        "StateDirectory=pingate",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(directive), "the unit lacks {directive:?}");
    }
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but systemd-analyze is missing; .ci/run installs it"
        );
        eprintln!(
            "SKIPPED the systemd-analyze run: install systemd (apt-get install systemd) to run it"
        );
        return;
    };
    assert!(out.status.success());
    // The unit names the installed binary; verify checks it is executable,
    // so point it at the one this build made.
    let ws = Workspace::new();
    let local = ws.write(
        "pingate.service",
        &unit.replace("/usr/local/bin/pingate", super::BIN),
    );
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&local)
        .output()
        .expect("run systemd-analyze");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}
