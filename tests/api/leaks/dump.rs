//! A dump of every column of every table, and the sealed columns, for the
//! search.

use sqlx::{AnyPool, Row, ValueRef};

use crate::support::app::Engine;

/// Every value of every column of every table: text as it is, numbers in
/// decimal, blobs as lowercase hex in `text` and as raw bytes in `raw`.
pub(super) struct Dump {
    pub(super) text: String,
    pub(super) raw: Vec<u8>,
}

async fn table_names(pool: &AnyPool, engine: Engine) -> Vec<String> {
    let sql = match engine {
        Engine::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Engine::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    sqlx::query_scalar::<_, String>(sql)
        .fetch_all(pool)
        .await
        .expect("list tables")
}

/// (name, declared type) of every column of `table`.
async fn columns(pool: &AnyPool, engine: Engine, table: &str) -> Vec<(String, String)> {
    let sql = match engine {
        Engine::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Engine::Postgres => {
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let cols: Vec<(String, String)> = sqlx::query_as(sql)
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("columns of {table}: {e}"));
    assert!(!cols.is_empty(), "no columns found for {table}");
    cols
}

/// The sealed columns (blobs named `*sealed*`) of `table`.
async fn sealed_columns(pool: &AnyPool, engine: Engine, table: &str) -> Vec<String> {
    columns(pool, engine, table)
        .await
        .into_iter()
        .filter(|(name, _)| name.contains("sealed"))
        .map(|(name, _)| name)
        .collect()
}

/// Every sealed value the challenge row holds, by column.
pub(super) async fn challenge_sealed(
    pool: &AnyPool,
    engine: Engine,
    id: &str,
) -> Vec<(String, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    for column in sealed_columns(pool, engine, "challenges").await {
        let value: Option<Vec<u8>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT \"{column}\" FROM challenges WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("challenges.{column}: {e}"));
        out.push((format!("challenges.{column}"), value));
    }
    out
}

/// `table.column (n rows)` for every sealed column still holding values.
pub(super) async fn sealed_left(pool: &AnyPool, engine: Engine) -> Vec<String> {
    let mut left = Vec::new();
    for table in table_names(pool, engine).await {
        for column in sealed_columns(pool, engine, &table).await {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" IS NOT NULL"
            )))
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{table}.{column}: {e}"));
            if n > 0 {
                left.push(format!("{table}.{column} ({n} rows)"));
            }
        }
    }
    left
}

pub(super) async fn dump_database(pool: &AnyPool, engine: Engine) -> Dump {
    use sqlx::any::AnyTypeInfoKind as K;
    let mut dump = Dump {
        text: String::new(),
        raw: Vec::new(),
    };
    let tables = table_names(pool, engine).await;
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
            tables.iter().any(|t| t == table),
            "table {table} missing from {tables:?}"
        );
    }
    for table in &tables {
        let cols = columns(pool, engine, table).await;
        // Blobs come back as bytes; everything else as the engine's text
        // form of it (the Any driver cannot decode every native type).
        let select = cols
            .iter()
            .map(|(name, ty)| {
                let ty = ty.to_ascii_lowercase();
                if ty == "blob" || ty == "bytea" {
                    format!("\"{name}\"")
                } else {
                    format!("CAST(\"{name}\" AS TEXT)")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {select} FROM \"{table}\""
        )))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("dump {table}: {e}"));
        for row in rows {
            for (i, (column, _)) in cols.iter().enumerate() {
                let name = format!("{table}.{column}");
                let kind = row.try_get_raw(i).expect("column value").type_info().kind();
                let value = match kind {
                    K::Null => "NULL".to_string(),
                    K::Blob => {
                        let bytes = row
                            .try_get::<Vec<u8>, _>(i)
                            .unwrap_or_else(|e| panic!("{name}: {e}"));
                        dump.raw.extend_from_slice(&bytes);
                        dump.raw.push(0);
                        hex::encode(bytes)
                    }
                    _ => row
                        .try_get::<String, _>(i)
                        .unwrap_or_else(|e| panic!("{name} ({kind:?}): {e}")),
                };
                dump.text.push_str(&format!("{name}={value}\n"));
            }
        }
    }
    dump
}
