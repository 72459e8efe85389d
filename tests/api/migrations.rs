//! Migrations: one set per engine with identical file names, applied on a
//! fresh database, and idempotent.

use std::collections::BTreeSet;
use std::path::Path;

use pingate::store::Store;
use sqlx::AnyPool;

use crate::on_both_engines;
use crate::support::app::{Engine, ScratchDatabase, postgres_url};

fn migration_files(engine: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .into_string()
                .expect("UTF-8 file name")
        })
        .collect()
}

#[test]
fn both_engines_have_the_same_migration_files() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert!(!sqlite.is_empty(), "no SQLite migrations");
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must hold the same file names"
    );
    for name in &sqlite {
        assert!(name.ends_with(".sql"), "{name} is not an .sql migration");
    }
}

#[test]
fn every_migration_runs_in_a_transaction_and_has_no_down_step() {
    use pingate::store::Backend;
    use pingate::store::maintenance::migration_kinds;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let kinds = migration_kinds(backend);
        assert!(!kinds.is_empty());
        for (version, in_tx, forward_only) in kinds {
            assert!(
                in_tx,
                "{backend:?} migration {version} opts out of its transaction"
            );
            assert!(
                forward_only,
                "{backend:?} migration {version} is reversible; migrations are forward-only"
            );
        }
    }
    for engine in ["sqlite", "postgres"] {
        for name in migration_files(engine) {
            assert!(
                !name.contains(".down.") && !name.contains(".up."),
                "{engine}/{name}: forward-only"
            );
        }
    }
}

/// A database of its own: a temp SQLite file, or a fresh PostgreSQL
/// database (dropped with the guard). Both live as long as the URL is used.
async fn fresh_database(
    engine: Engine,
    test: &str,
) -> Option<(String, tempfile::TempDir, Option<ScratchDatabase>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    match engine {
        Engine::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("pingate.db").display());
            Some((url, dir, None))
        }
        Engine::Postgres => {
            let db = ScratchDatabase::create(&postgres_url(test)?).await;
            Some((db.url.clone(), dir, Some(db)))
        }
    }
}

/// The schema (every table's columns and types) and the migration ledger.
async fn schema(pool: &AnyPool, engine: Engine) -> Vec<String> {
    let sql = match engine {
        Engine::Sqlite => {
            "SELECT m.name || '.' || p.name || ' ' || p.type FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' ORDER BY m.name, p.cid"
        }
        Engine::Postgres => {
            "SELECT CAST(table_name AS TEXT) || '.' || CAST(column_name AS TEXT) || ' ' || CAST(data_type AS TEXT) \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             ORDER BY table_name, ordinal_position"
        }
    };
    let mut out: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(pool)
        .await
        .expect("read the schema");
    let ledger: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(version AS TEXT) || ' ' || description || ' ' || CAST(success AS TEXT) || ' ' \
         || CAST(installed_on AS TEXT) FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .expect("read the migration ledger");
    out.extend(ledger);
    out
}

async fn ledger_len(pool: &AnyPool) -> usize {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .expect("count migrations");
    usize::try_from(n).expect("a count")
}

async fn migrates_a_fresh_database_and_twice_is_a_no_op(engine: Engine, test: &str) {
    let Some((url, _dir, _db)) = fresh_database(engine, test).await else {
        return;
    };
    let store = Store::connect(&url, 2).await.expect("connect");
    store.migrate().await.expect("first migration");
    let pool = store.reader().clone();
    let files = migration_files(match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    });
    assert_eq!(
        ledger_len(&pool).await,
        files.len(),
        "every migration file applied once"
    );
    let before = schema(&pool, engine).await;
    for table in [
        "orgs",
        "org_numbers",
        "principals",
        "calls",
        "challenges",
        "grants",
        "messages",
        "audit_events",
        "audit_checkpoints",
    ] {
        assert!(
            before.iter().any(|c| c.starts_with(&format!("{table}."))),
            "table {table} missing after migration: {before:#?}"
        );
    }
    sqlx::query("INSERT INTO orgs (id, name, account_number, channels, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind("kept")
        .bind("Kept Ltd")
        .bind("4001")
        .bind("email")
        .bind(1_i64)
        .bind(1_i64)
        .execute(&pool)
        .await
        .expect("insert a row");

    // Again on the same connection, and again from a new process's view.
    store.migrate().await.expect("second migration");
    store.close().await;
    let again = Store::connect(&url, 2).await.expect("reconnect");
    again.migrate().await.expect("third migration");
    let pool = again.reader().clone();
    assert_eq!(
        schema(&pool, engine).await,
        before,
        "migrating again changed the schema or the ledger"
    );
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orgs WHERE id = 'kept'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(kept, 1, "migrating again touched the data");
    again.close().await;
}
on_both_engines!(
    migrates_a_fresh_database_and_twice_is_a_no_op,
    migrates_a_fresh_database_and_twice_is_a_no_op
);

/// Migration 0020 rebuilds (SQLite) or constrains (PostgreSQL) the tables
/// whose columns hold enums: a database with rows from before keeps them,
/// and from then on a value no enum spells is refused by the database.
async fn enum_checks_keep_existing_rows_and_refuse_unknown_values(engine: Engine, test: &str) {
    let Some((url, _dir, _db)) = fresh_database(engine, test).await else {
        return;
    };
    let store = Store::connect(&url, 2).await.expect("connect");
    let pool = store.reader().clone();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        });
    let mut before_checks = sqlx::migrate::Migrator::new(dir).await.expect("migrator");
    before_checks.migrations = before_checks
        .migrations
        .iter()
        .filter(|m| m.version < 20)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before_checks
        .run(&pool)
        .await
        .expect("migrations before 0020");
    for sql in [
        "INSERT INTO orgs (id, name, account_number, channels, created_at, updated_at) \
         VALUES ('o', 'O Ltd', '4001', 'email', 1, 1)",
        "INSERT INTO calls (id, provider, provider_call_id, from_raw, caller_kind, to_raw, org_id, \
         verification, status, created_at, updated_at) \
         VALUES ('cal_1', 'twilio', 'CA1', '+14155550100', 'e164', '+1', 'o', 'pin_required', 'active', 1, 1)",
        "INSERT INTO challenges (id, call_id, org_id, agent, channel, destination, pin_hash, status, \
         max_attempts, created_at, expires_at) \
         VALUES ('chl_1', 'cal_1', 'o', 'alice', 'email', 'a***', 'h', 'pending', 5, 1, 2)",
        "INSERT INTO messages (id, kind, channel, org_id, call_id, challenge_id, destination, \
         destination_masked, subject, status, next_attempt_at, created_at, updated_at) \
         VALUES ('msg_1', 'pin', 'email', 'o', 'cal_1', 'chl_1', 'a@o.example', 'a***', 's', 'sent', 1, 1, 1)",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    store
        .migrate()
        .await
        .expect("migration 0020 on a database with rows");
    for table in ["calls", "challenges", "messages"] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&pool)
                .await
                .expect("count");
        assert_eq!(n, 1, "{table} lost its row");
    }
    for bad in [
        "UPDATE messages SET status = 'bogus' WHERE id = 'msg_1'",
        "UPDATE messages SET kind = 'test' WHERE id = 'msg_1'",
        "UPDATE challenges SET status = 'Pending' WHERE id = 'chl_1'",
        "UPDATE challenges SET channel = 'fax' WHERE id = 'chl_1'",
        "UPDATE calls SET status = 'gone' WHERE id = 'cal_1'",
        "UPDATE calls SET verification = 'maybe' WHERE id = 'cal_1'",
    ] {
        let refused = sqlx::query(sqlx::AssertSqlSafe(bad)).execute(&pool).await;
        assert!(refused.is_err(), "the database accepted: {bad}");
    }
    let fine = sqlx::query("UPDATE challenges SET status = 'superseded' WHERE id = 'chl_1'")
        .execute(&pool)
        .await;
    assert!(
        fine.is_ok(),
        "a status the enum spells is refused: {fine:?}"
    );
    store.close().await;
}
on_both_engines!(
    enum_checks_keep_existing_rows_and_refuse_unknown_values,
    enum_checks_keep_existing_rows_and_refuse_unknown_values
);

/// Every table's columns as (table, column, kind of value, nullable): the
/// engines spell types differently, so each type is read as the kind of
/// value it holds.
async fn columns(pool: &AnyPool, engine: Engine) -> BTreeSet<String> {
    let sql = match engine {
        Engine::Sqlite => {
            "SELECT m.name || '.' || p.name || ' ' || lower(p.type) || ' ' || \
             CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 'not null' ELSE 'null' END \
             FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
        }
        Engine::Postgres => {
            "SELECT CAST(table_name AS TEXT) || '.' || CAST(column_name AS TEXT) || ' ' || \
             CAST(data_type AS TEXT) || ' ' || \
             CASE WHEN is_nullable = 'NO' THEN 'not null' ELSE 'null' END \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name <> '_sqlx_migrations'"
        }
    };
    let rows: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(pool)
        .await
        .expect("read the columns");
    rows.into_iter().map(|row| value_kind(&row)).collect()
}

/// `table.column type nullability` with the type replaced by its kind.
fn value_kind(row: &str) -> String {
    let (column, rest) = row.split_once(' ').expect("column and type");
    let (ty, nullable) = rest
        .rsplit_once(if rest.ends_with("not null") {
            " not null"
        } else {
            " null"
        })
        .map(|(ty, _)| {
            (
                ty,
                if rest.ends_with("not null") {
                    "not null"
                } else {
                    "null"
                },
            )
        })
        .expect("nullability");
    let kind = match ty {
        "integer" | "bigint" | "smallint" | "int" | "int8" | "boolean" => "integer",
        "text" | "character varying" | "varchar" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" => "real",
        other => other,
    };
    format!("{column} {kind} {nullable}")
}

/// The two migration sets build the same tables with the same columns,
/// each holding the same kind of value with the same nullability.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pingate_test_postgres),
    ignore = "PostgreSQL only: set PINGATE_TEST_DATABASE_URL to run it"
)]
async fn both_migration_sets_build_the_same_schema() {
    let test = "both_migration_sets_build_the_same_schema";
    let mut schemas = Vec::new();
    let mut keep = Vec::new();
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some((url, dir, db)) = fresh_database(engine, test).await else {
            return;
        };
        let store = Store::connect(&url, 2).await.expect("connect");
        store.migrate().await.expect("migrate");
        schemas.push(columns(store.reader(), engine).await);
        store.close().await;
        keep.push((dir, db));
    }
    let (sqlite, postgres) = (&schemas[0], &schemas[1]);
    assert!(
        sqlite.contains("calls.id text not null") && sqlite.len() > 50,
        "the schema was read: {sqlite:#?}"
    );
    let only_sqlite: Vec<_> = sqlite.difference(postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the schemas differ:\nonly on SQLite: {only_sqlite:#?}\nonly on PostgreSQL: {only_postgres:#?}"
    );
}
