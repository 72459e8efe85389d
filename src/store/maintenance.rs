//! Keeping a database healthy for years: whether it needs migrating (read
//! only), consistent SQLite backups, its size, the age of its oldest rows
//! and the free space left where it lives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

use super::{Backend, MIGRATOR_POSTGRES, MIGRATOR_SQLITE, Store, StoreError, StoreResult};
use crate::clock::Millis;

/// Where a database stands against the migrations this build carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Migrations of this build recorded as applied.
    pub applied: usize,
    /// Migrations of this build not applied yet: `(version, description)`.
    pub pending: Vec<(i64, String)>,
    /// Applied migrations whose file changed since (a checksum mismatch):
    /// migrating would refuse.
    pub changed: Vec<i64>,
    /// Migrations a newer build applied, unknown to this one.
    pub unknown: Vec<i64>,
    /// Migrations recorded as failed (a partial, rolled-back attempt).
    pub failed: Vec<i64>,
}

impl MigrationStatus {
    /// Whether this build can serve the database as it is.
    pub fn up_to_date(&self) -> bool {
        self.pending.is_empty() && self.changed.is_empty() && self.failed.is_empty()
    }
}

fn migrator(backend: Backend) -> &'static sqlx::migrate::Migrator {
    match backend {
        Backend::Sqlite => &MIGRATOR_SQLITE,
        Backend::Postgres => &MIGRATOR_POSTGRES,
    }
}

/// Every migration of this build runs in a transaction and has no down
/// step (forward-only): `(version, in a transaction, forward-only)`.
/// A migration that opts out of sqlx's transaction counts as transactional
/// when it opens and commits its own (SQLite table rebuilds must switch
/// foreign keys off outside any transaction, then run in one).
pub fn migration_kinds(backend: Backend) -> Vec<(i64, bool, bool)> {
    migrator(backend)
        .iter()
        .map(|m| {
            let sql = m.sql.as_str();
            let own_tx = sql.contains("BEGIN IMMEDIATE;") && sql.contains("COMMIT;");
            (
                m.version,
                !m.no_tx || own_tx,
                m.migration_type == sqlx::migrate::MigrationType::Simple,
            )
        })
        .collect()
}

async fn ledger_exists(pool: &AnyPool, backend: Backend) -> StoreResult<bool> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let n: i64 = sqlx::query_scalar(sql).fetch_one(pool).await?;
    Ok(n > 0)
}

/// Compares the database's migration ledger with this build's migrations,
/// reading only.
pub async fn migration_status(pool: &AnyPool, backend: Backend) -> StoreResult<MigrationStatus> {
    // `success` as an integer: the Any driver maps no boolean column type.
    let ledger: Vec<(i64, i64, Vec<u8>)> = if ledger_exists(pool, backend).await? {
        sqlx::query_as(
            "SELECT version, CAST(success AS INTEGER), checksum FROM _sqlx_migrations ORDER BY version",
        )
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    let ledger: BTreeMap<i64, (bool, Vec<u8>)> = ledger
        .into_iter()
        .map(|(v, ok, c)| (v, (ok != 0, c)))
        .collect();
    let mut status = MigrationStatus::default();
    let mine = migrator(backend);
    for m in mine.iter() {
        match ledger.get(&m.version) {
            None => status.pending.push((m.version, m.description.to_string())),
            Some((false, _)) => status.failed.push(m.version),
            Some((true, sum)) if sum.as_slice() != &*m.checksum => status.changed.push(m.version),
            Some(_) => status.applied += 1,
        }
    }
    status.unknown = ledger
        .keys()
        .filter(|v| !mine.iter().any(|m| m.version == **v))
        .copied()
        .collect();
    Ok(status)
}

/// The file behind a `sqlite:` URL (None for `:memory:` or another engine).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Opens an existing SQLite file read-only: never creates or changes it.
pub async fn open_sqlite_read_only(path: &Path) -> StoreResult<AnyPool> {
    sqlx::any::install_default_drivers();
    if !path.is_file() {
        return Err(StoreError::Absent(path.display().to_string()));
    }
    let opts = AnyConnectOptions::from_str(&format!("sqlite://{}?mode=ro", path.display()))?;
    Ok(AnyPoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?)
}

/// Writes a consistent copy of the SQLite database to `dest` while the
/// server keeps writing: `VACUUM INTO` reads one snapshot (WAL lets writers
/// go on) and writes a compact, self-contained file. `dest` must not exist
/// or be empty (SQLite refuses anything else).
pub async fn backup_sqlite(source: &AnyPool, dest: &Path) -> StoreResult<()> {
    let dest = dest
        .to_str()
        .ok_or_else(|| StoreError::NonUtf8Path(dest.to_path_buf()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(dest)
        .execute(source)
        .await?;
    Ok(())
}

/// Tables whose oldest row `/metrics` reports, with the column that dates it.
pub const DATED_TABLES: [(&str, &str); 7] = [
    ("calls", "created_at"),
    ("challenges", "created_at"),
    ("grants", "created_at"),
    ("messages", "created_at"),
    ("webhook_receipts", "received_at"),
    ("quota_counters", "window_start"),
    ("audit_events", "at"),
];

impl Store {
    pub async fn migration_status(&self) -> StoreResult<MigrationStatus> {
        migration_status(self.reader(), self.backend).await
    }

    /// The database's size in bytes (SQLite: the main file's pages).
    pub async fn size_bytes(&self) -> StoreResult<i64> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s"
            }
            Backend::Postgres => "SELECT CAST(pg_database_size(current_database()) AS BIGINT)",
        };
        Ok(sqlx::query_scalar(sql).fetch_one(self.reader()).await?)
    }

    /// When the oldest row of each dated table was written (None: empty).
    pub async fn oldest_rows(&self) -> StoreResult<Vec<(&'static str, Option<Millis>)>> {
        let mut out = Vec::with_capacity(DATED_TABLES.len());
        for (table, column) in DATED_TABLES {
            let sql = format!("SELECT MIN({column}) FROM {table}");
            let oldest: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(self.reader())
                .await?;
            out.push((table, oldest));
        }
        Ok(out)
    }
}

/// Free and total bytes of the file system holding `path` (or its nearest
/// existing ancestor).
pub fn disk_space(path: &Path) -> std::io::Result<(u64, u64)> {
    let mut at = path;
    while !at.exists() {
        at = match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if at == Path::new(".") {
            break;
        }
    }
    let st = rustix::fs::statvfs(at)?;
    Ok((
        st.f_bavail.saturating_mul(st.f_frsize),
        st.f_blocks.saturating_mul(st.f_frsize),
    ))
}
