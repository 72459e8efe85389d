//! Persistence: one sqlx query layer (the `Any` driver, `$n` placeholders)
//! over SQLite and PostgreSQL. Writes go through [`WriteTx`], which appends
//! the audit events of a state change in the same transaction.

pub mod audit;
pub mod audit_tiles;
pub mod calls;
pub mod challenges;
pub mod checkpoints;
pub mod codec;
pub mod console_sessions;
pub mod grants;
pub mod group;
pub mod intake;
mod jobs;
pub mod maintenance;
pub mod messages;
pub mod nodelay;
pub mod open;
pub mod orgs;
pub mod overrides;
pub mod principals;
pub mod quotas;
pub mod retention;
mod rows;
mod wal;

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

use crate::audit::event::NewEvent;
use crate::clock::{Clock, Millis, SystemClock};
pub use group::{GroupCommit, GroupStats};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create {what} {}: {source}", path.display())]
    CreatePath {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
    #[error("{0}")]
    Unreachable(open::Unreachable),
    /// A read-only command found no database file (nothing was created).
    #[error(
        "no database at {0} (nothing was created); create it with `pingate migrate`, or point database.url (or --config) at the existing one"
    )]
    Absent(String),
    #[error("the database lacks {0} migration(s); apply them with `pingate migrate`")]
    NotMigrated(usize),
    #[error("{entity} already exists ({field})")]
    Conflict {
        entity: &'static str,
        field: &'static str,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the path {} is not valid UTF-8", .0.display())]
    NonUtf8Path(std::path::PathBuf),
    /// The group this write belonged to could not commit: nothing of it is
    /// durable.
    #[error("the group commit failed: {0}")]
    GroupFailed(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database behind pingate. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    /// On SQLite a one-connection pool: the single writer that keeps the
    /// audit chain in one order and never meets SQLITE_BUSY in-process. On
    /// PostgreSQL the same pool as `read`; an advisory lock orders the chain.
    write: AnyPool,
    backend: Backend,
    /// Stamps audit events when they join the chain (see [`WriteTx::commit`]).
    clock: Arc<dyn Clock>,
    group_commit: GroupCommit,
    /// The group-commit writer, started by the first write (so the clock
    /// and the batch bounds are settled by then).
    writer: Arc<OnceLock<group::Writer>>,
    /// SQLite: the task that checkpoints the WAL after writes commit.
    wal: Option<wal::Wal>,
    /// The voice webhook's batches of new calls (`intake`).
    intake: Arc<intake::Intake>,
}

pub(crate) static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
pub(crate) static MIGRATOR_POSTGRES: sqlx::migrate::Migrator =
    sqlx::migrate!("migrations/postgres");

/// Namespaces of [`WriteTx::serialize_on`].
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum LockSpace {
    /// A provider's message id: the worker recording a send and a delivery
    /// report arriving for it.
    ProviderMessage = 1,
    /// An org's PIN failure counts and lockouts: a wrong PIN being counted
    /// and an administrator's reset.
    OrgPinFailures = 2,
}

/// Key of the PostgreSQL advisory lock that serialises audit appends.
pub const AUDIT_LOCK_KEY: i64 = 0x0070_696e_6761_7465; // "pingate"

impl Store {
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, max_connections, true).await
        } else {
            // One quick connection first: a pool would retry a refused
            // connection for its whole acquire timeout and then say only
            // that it timed out.
            open::probe_postgres(url)
                .await
                .map_err(StoreError::Unreachable)?;
            let target = open::PgTarget::from_url(url);
            let unreachable = |e: sqlx::Error| match &target {
                Some(t) => StoreError::Unreachable(open::diagnose(t, &e)),
                None => StoreError::Db(e),
            };
            let opts = AnyConnectOptions::from_str(url).map_err(unreachable)?;
            let pool = AnyPoolOptions::new()
                .max_connections(max_connections.max(2))
                // Longer than a request may take: under load a request ends
                // with the request timeout rather than a pool error.
                .acquire_timeout(Duration::from_secs(20))
                // sqlx 0.9.0 leaves Nagle on (see `nodelay`).
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        nodelay::set_on(conn).await;
                        Ok(())
                    })
                })
                .connect_with(opts)
                .await
                .map_err(unreachable)?;
            Ok(Store {
                read: pool.clone(),
                write: pool,
                backend: Backend::Postgres,
                clock: Arc::new(SystemClock),
                group_commit: GroupCommit::default(),
                writer: Arc::default(),
                wal: None,
                intake: Arc::default(),
            })
        }
    }

    /// `create`: make the file (private) and its directory when missing,
    /// else open only a file that exists.
    async fn connect_sqlite(url: &str, max_connections: u32, create: bool) -> StoreResult<Store> {
        let path = sqlite_path(url);
        let path = path.as_str();
        if create
            && path != ":memory:"
            && let Some(dir) = Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreatePath {
                what: "database directory",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        if create && path != ":memory:" && !path.is_empty() {
            create_private(Path::new(path))?;
        }
        let mode = if create { "rwc" } else { "rw" };
        let url = if url.contains("mode=") {
            url.to_string()
        } else if url.contains('?') {
            format!("{url}&mode={mode}")
        } else {
            format!("{url}?mode={mode}")
        };
        let opts = AnyConnectOptions::from_str(&url)?;
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(writer_pragmas)
            .connect_with(opts.clone())
            .await?;
        let read = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(sqlite_pragmas)
            .connect_with(opts)
            .await?;
        let wal = Some(wal::Wal::start(&read));
        Ok(Store {
            read,
            write,
            backend: Backend::Sqlite,
            clock: Arc::new(SystemClock),
            group_commit: GroupCommit::default(),
            writer: Arc::default(),
            wal,
            intake: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The clock that stamps audit events (the application's, so tests
    /// that move time move the stamps too).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self.writer = Arc::default();
        self.intake = Arc::default();
        self
    }

    /// How writes are grouped into transactions (`[database]`
    /// `group_commit_max`, `group_commit_wait`).
    pub fn with_group_commit(mut self, config: GroupCommit) -> Store {
        self.group_commit = config;
        self.writer = Arc::default();
        self.intake = Arc::default();
        self
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        match self.backend {
            Backend::Sqlite => MIGRATOR_SQLITE.run(&self.write).await?,
            Backend::Postgres => MIGRATOR_POSTGRES.run(&self.write).await?,
        }
        Ok(())
    }

    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// What the group-commit writer has done (zeros before the first write
    /// or with grouping off).
    pub fn group_stats(&self) -> GroupStats {
        self.writer
            .get()
            .map(group::Writer::stats)
            .unwrap_or_default()
    }

    /// Starts a write; `now` is the time the write acts at. With group
    /// commit on, the write joins the instance's next group and runs under
    /// its own savepoint; its `commit` returns once the group is durable.
    pub async fn begin(&self, now: Millis) -> StoreResult<WriteTx> {
        let inner = if self.group_commit.is_off() {
            let tx = match self.backend {
                // IMMEDIATE takes the write lock up front, so another process
                // (the CLI) makes us wait on busy_timeout instead of failing.
                Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
                Backend::Postgres => self.write.begin().await?,
            };
            Inner::Alone(tx, self.wal.clone())
        } else {
            Inner::Member(Some(self.writer().join().await?))
        };
        Ok(WriteTx {
            inner,
            events: Vec::new(),
            backend: self.backend,
            now,
            clock: Arc::clone(&self.clock),
        })
    }

    /// The group-commit writer, started by the first write.
    fn writer(&self) -> &group::Writer {
        self.writer.get_or_init(|| {
            group::Writer::spawn(
                self.write.clone(),
                self.wal.clone(),
                self.backend,
                Arc::clone(&self.clock),
                self.group_commit,
            )
        })
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// The file of a `sqlite:` URL.
fn sqlite_path(url: &str) -> String {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Creates the database file readable by its owner only (it holds org
/// contacts, caller numbers and token hashes); SQLite gives its -wal and
/// -shm files the same mode. An existing file is left as it is.
fn create_private(path: &Path) -> StoreResult<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::CreatePath {
            what: "database",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn sqlite_pragmas(
    conn: &mut AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        sqlx::raw_sql(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
        )
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// The writer's connection checkpoints the WAL only as a backstop (see
/// `wal`).
fn writer_pragmas(
    conn: &mut AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        sqlite_pragmas(conn, meta).await?;
        let backstop = format!("PRAGMA wal_autocheckpoint = {}", wal::WRITER_AUTOCHECKPOINT);
        sqlx::raw_sql(sqlx::AssertSqlSafe(backstop))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// A write transaction that carries the audit events of what it changes.
/// The events are appended to the chain right before COMMIT, so the chain
/// lock is held as briefly as possible and is always the last lock taken.
pub struct WriteTx {
    inner: Inner,
    events: Vec<NewEvent>,
    backend: Backend,
    now: Millis,
    clock: Arc<dyn Clock>,
}

/// A transaction of its own, a member's turn in a group's transaction
/// (`None` once handed back), or a job's, run by the writer itself.
enum Inner {
    /// With the WAL task to tell once it commits (SQLite).
    Alone(Transaction<'static, Any>, Option<wal::Wal>),
    Member(Option<group::Lease>),
    Job(Option<Transaction<'static, Any>>),
}

impl WriteTx {
    /// A job's view of the group's transaction (see [`Store::write`]).
    fn in_group(
        tx: Transaction<'static, Any>,
        now: Millis,
        backend: Backend,
        clock: Arc<dyn Clock>,
    ) -> WriteTx {
        WriteTx {
            inner: Inner::Job(Some(tx)),
            events: Vec::new(),
            backend,
            now,
            clock,
        }
    }

    /// The transaction and the events a job left, for the writer.
    fn into_group_parts(mut self) -> Option<(Transaction<'static, Any>, Vec<NewEvent>)> {
        match &mut self.inner {
            Inner::Job(tx) => Some((tx.take()?, std::mem::take(&mut self.events))),
            _ => None,
        }
    }

    pub fn conn(&mut self) -> &mut AnyConnection {
        match &mut self.inner {
            Inner::Alone(tx, _) | Inner::Job(Some(tx)) => tx,
            Inner::Member(Some(lease)) => &mut lease.tx,
            Inner::Member(None) | Inner::Job(None) => {
                unreachable!("a write used after it was handed back")
            }
        }
    }

    pub fn audit(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn now(&self) -> Millis {
        self.now
    }

    /// Holds `name` (within `space`) until this transaction ends, so two
    /// writes about one thing that no row yet ties together take turns: on
    /// PostgreSQL a transaction-scoped advisory lock (the two-key form,
    /// apart from the audit lock's key space); SQLite's single writer
    /// already serialises every write.
    pub async fn serialize_on(&mut self, space: LockSpace, name: &str) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(space as i32)
                .bind(name)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn commit(mut self) -> StoreResult<()> {
        let events = std::mem::take(&mut self.events);
        let tx = match &mut self.inner {
            Inner::Member(lease) => {
                return match lease.take() {
                    Some(lease) => lease.finish(events).await,
                    None => Ok(()),
                };
            }
            // A job gets `&mut WriteTx` and cannot reach here; the writer
            // commits its group.
            Inner::Job(_) => return Ok(()),
            Inner::Alone(tx, _) => tx,
        };
        if !events.is_empty() {
            if self.backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(AUDIT_LOCK_KEY)
                    .execute(&mut **tx)
                    .await?;
            }
            // Stamped now, under the chain lock, so `at` follows `seq`
            // however long the transaction ran or whoever began first.
            audit::append(tx, self.clock.now_ms(), events).await?;
        }
        let Inner::Alone(tx, wal) = std::mem::replace(&mut self.inner, Inner::Member(None)) else {
            return Ok(());
        };
        tx.commit().await?;
        if let Some(wal) = wal {
            wal.committed();
        }
        Ok(())
    }
}

impl Drop for WriteTx {
    /// A write dropped before `commit` changes nothing: its own transaction
    /// rolls back (sqlx), a member is rolled back to its savepoint.
    fn drop(&mut self) {
        if let Inner::Member(lease) = &mut self.inner
            && let Some(lease) = lease.take()
        {
            lease.abandon();
        }
    }
}

/// Maps a unique-constraint violation to a typed conflict.
pub(crate) fn conflict_or(e: sqlx::Error, entity: &'static str, field: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return StoreError::Conflict { entity, field };
    }
    StoreError::Db(e)
}
