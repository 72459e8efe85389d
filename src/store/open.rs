//! Reaching the database, and saying plainly when it cannot be reached: a
//! first PostgreSQL connection that fails fast with what failed, where
//! (never the password) and why, plus the fix; and which migrations a
//! database still lacks (read-only commands refuse such a database).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::Connection;
use sqlx::any::AnyConnectOptions;
use sqlx::postgres::PgConnectOptions;

use super::{Store, StoreError, StoreResult};

/// How long the first PostgreSQL connection may take before pingate says
/// the server does not answer (a pool would retry for its whole timeout).
pub const FIRST_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a PostgreSQL URL points, without its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

impl PgTarget {
    pub fn from_url(url: &str) -> Option<PgTarget> {
        let opts = PgConnectOptions::from_str(url).ok()?;
        Some(PgTarget {
            host: opts.get_host().to_string(),
            port: opts.get_port(),
            database: opts
                .get_database()
                .unwrap_or(opts.get_username())
                .to_string(),
            user: opts.get_username().to_string(),
        })
    }
}

impl fmt::Display for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PostgreSQL at {}:{} (database {}, user {})",
            self.host, self.port, self.database, self.user
        )
    }
}

/// Why a connection failed, and the one-line fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub target: String,
    pub why: String,
    pub fix: String,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot connect to {}: {}\n  fix: {}",
            self.target, self.why, self.fix
        )
    }
}

/// Connects once to PostgreSQL, within [`FIRST_CONNECT_TIMEOUT`], so a
/// wrong URL or a stopped server is reported at once and in words.
pub async fn probe_postgres(url: &str) -> Result<(), Unreachable> {
    let Some(target) = PgTarget::from_url(url) else {
        return Err(Unreachable {
            target: "PostgreSQL".into(),
            why: "database.url is not a valid PostgreSQL URL".into(),
            fix: "write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE".into(),
        });
    };
    sqlx::any::install_default_drivers();
    let opts = AnyConnectOptions::from_str(url).map_err(|e| diagnose(&target, &e))?;
    match tokio::time::timeout(FIRST_CONNECT_TIMEOUT, AnyConnection::connect_with(&opts)).await {
        Err(_) => Err(Unreachable {
            target: target.to_string(),
            why: format!("no answer within {} s", FIRST_CONNECT_TIMEOUT.as_secs()),
            fix: "check the host and port in database.url, and any firewall on the way".into(),
        }),
        Ok(Err(e)) => Err(diagnose(&target, &e)),
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
    }
}

/// What a connection error means for the operator.
pub fn diagnose(target: &PgTarget, e: &sqlx::Error) -> Unreachable {
    let (why, fix) = match e {
        sqlx::Error::Io(io) => io_reason(target, io),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28000") if db.message().contains("does not exist") => (
                format!("the server has no user {}", target.user),
                "correct the user in database.url, or create it: createuser -h HOST -p PORT NAME"
                    .to_string(),
            ),
            Some("28P01") | Some("28000") => (
                format!("authentication failed for user {}", target.user),
                "check the user and password in database.url (and pg_hba.conf on the server)"
                    .to_string(),
            ),
            Some("3D000") => (
                format!("database {} does not exist", target.database),
                format!(
                    "create it: createdb -h {} -p {} -U {} {}",
                    target.host, target.port, target.user, target.database
                ),
            ),
            Some("53300") => (
                "the server has no connection slots left".into(),
                "lower database.max_connections or raise max_connections on the server".into(),
            ),
            _ => (
                format!("the server refused: {}", db.message()),
                "see the server's log for the reason".into(),
            ),
        },
        sqlx::Error::Tls(_) => (
            "the TLS handshake failed".into(),
            "check sslmode in database.url and the server's certificate".into(),
        ),
        sqlx::Error::PoolTimedOut => (
            "no connection could be made in time".into(),
            "check that the server is up and reachable from here".into(),
        ),
        sqlx::Error::Configuration(_) => (
            "database.url is not a valid PostgreSQL URL".into(),
            "write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE".into(),
        ),
        _ => (
            "the connection failed".into(),
            "check database.url and the server's log".into(),
        ),
    };
    Unreachable {
        target: target.to_string(),
        why,
        fix,
    }
}

fn io_reason(target: &PgTarget, io: &std::io::Error) -> (String, String) {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionRefused => (
            "connection refused (nothing listens on that port)".into(),
            format!(
                "start PostgreSQL on {}:{}, or correct the host and port in database.url",
                target.host, target.port
            ),
        ),
        K::TimedOut => (
            "no answer (timed out)".into(),
            "check the host and port in database.url, and any firewall on the way".into(),
        ),
        K::NotFound => (
            format!("no such host or socket {}", target.host),
            "correct the host in database.url".into(),
        ),
        _ if io.to_string().contains("lookup") => (
            format!("the host name {} cannot be resolved", target.host),
            "correct the host in database.url".into(),
        ),
        _ => (
            format!("network error: {io}"),
            "check that the server is up and reachable from here".into(),
        ),
    }
}

impl Store {
    /// The migrations this database lacks, by `version description`
    /// (read from the one ledger check, [`Store::migration_status`]).
    pub async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        let status = self.migration_status().await?;
        Ok(status
            .pending
            .into_iter()
            .map(|(version, description)| format!("{version} {description}"))
            .collect())
    }

    /// Opens a database that must already exist and be migrated: what a
    /// command that only reads uses. Nothing is created or changed.
    pub async fn open_existing(url: &str, max_connections: u32) -> StoreResult<Store> {
        let store = Self::connect_existing(url, max_connections).await?;
        let pending = store.pending_migrations().await?;
        if !pending.is_empty() {
            store.close().await;
            return Err(StoreError::NotMigrated(pending.len()));
        }
        Ok(store)
    }

    /// Connects to a database that must exist, migrated or not: a missing
    /// SQLite file is an error, not created.
    pub async fn connect_existing(url: &str, max_connections: u32) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            let path = super::sqlite_path(url);
            if path != ":memory:" && !std::path::Path::new(&path).is_file() {
                return Err(StoreError::Absent(path));
            }
            Self::connect_sqlite(url, max_connections, false).await
        } else {
            Self::connect(url, max_connections).await
        }
    }
}

#[cfg(test)]
mod tests;
