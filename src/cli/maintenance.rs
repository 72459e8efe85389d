//! The operator's upkeep commands: `migrate [--check]`, `backup FILE` and
//! `retention run [--dry-run]`. Reading commands open the database
//! read-only; none of them creates a database or a key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use sqlx::AnyPool;

use super::CliError;
use crate::audit::checkpoint;
use crate::config::Settings;
use crate::keys::Keys;
use crate::service::checkpointer;
use crate::service::retention::{self, Report};
use crate::store::maintenance::{self, MigrationStatus, sqlite_path};
use crate::store::{Backend, Store};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Only say whether the database needs migrating; change nothing. Exit
    /// status 0: up to date; 2: migrations pending; 1: anything else.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where the copy goes; must not exist yet.
    pub file: PathBuf,
    /// The checkpoint verifier key to check the copy against (`pingate
    /// audit public-key`); default: the key file in the data directory.
    #[arg(long, value_name = "KEY")]
    pub public_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Delete what `[retention]` no longer keeps, in small batches, and
    /// record one audit event with the counts.
    Run {
        /// Only count what would be deleted; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn db_error(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// The database, opened without creating or changing anything.
async fn open_for_reading(settings: &Settings) -> Result<(AnyPool, Backend), CliError> {
    let url = settings.database.url.expose();
    match sqlite_path(url) {
        Some(path) => Ok((
            maintenance::open_sqlite_read_only(&path)
                .await
                .map_err(db_error)?,
            Backend::Sqlite,
        )),
        None if url.starts_with("sqlite:") => Err(CliError(
            "an in-memory SQLite database has nothing to read".into(),
        )),
        None => {
            let store = Store::connect(url, 1).await.map_err(db_error)?;
            Ok((store.reader().clone(), Backend::Postgres))
        }
    }
}

pub async fn migrate(settings: Settings, args: MigrateArgs) -> Result<ExitCode, CliError> {
    if !args.check {
        super::migrate(settings).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let (pool, backend) = open_for_reading(&settings).await?;
    let status = maintenance::migration_status(&pool, backend)
        .await
        .map_err(db_error);
    pool.close().await;
    check_verdict(&status?)
}

fn versions(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

fn check_verdict(s: &MigrationStatus) -> Result<ExitCode, CliError> {
    if !s.changed.is_empty() {
        return Err(CliError(format!(
            "applied migration(s) {} differ from this release's files; migrating would refuse",
            versions(&s.changed)
        )));
    }
    if !s.failed.is_empty() {
        return Err(CliError(format!(
            "migration(s) {} are recorded as failed; see the server's log, then run pingate migrate",
            versions(&s.failed)
        )));
    }
    if !s.unknown.is_empty() {
        return Err(CliError(format!(
            "the database was migrated by a newer release (migration(s) {}); this release cannot serve it",
            versions(&s.unknown)
        )));
    }
    if s.pending.is_empty() {
        crate::outln!(
            "database is up to date: {} migration(s) applied, none pending",
            s.applied
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::outln!(
        "database needs migrating: {} pending migration(s): {}; run pingate migrate",
        s.pending.len(),
        s.pending
            .iter()
            .map(|(v, d)| format!("{v:04} {d}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    Ok(ExitCode::from(2))
}

pub async fn backup(settings: Settings, args: BackupArgs) -> Result<(), CliError> {
    let Some(source) = sqlite_path(settings.database.url.expose()) else {
        return Err(CliError(
            "pingate backup copies a SQLite database; for PostgreSQL use pg_dump (see docs/operating.md, Backups)".into(),
        ));
    };
    let (name, key) = verifier_key(&settings, &args)?;
    let pool = maintenance::open_sqlite_read_only(&source)
        .await
        .map_err(db_error)?;
    create_private_empty(&args.file)?;
    let copied = maintenance::backup_sqlite(&pool, &args.file).await;
    pool.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&args.file);
        return Err(db_error(e));
    }
    let copy = maintenance::open_sqlite_read_only(&args.file)
        .await
        .map_err(db_error)?;
    let verified = checkpointer::verify_database(&copy, &name, &key, None, |_| {}).await;
    copy.close().await;
    let v = verified.map_err(|e| {
        CliError(format!(
            "the copy at {} does not verify: {e}",
            args.file.display()
        ))
    })?;
    let bytes = std::fs::metadata(&args.file).map_or(0, |m| m.len());
    crate::outln!(
        "backup written to {} ({bytes} bytes); ok: {} events verified, {} stored checkpoints checked; root {}",
        args.file.display(),
        v.events,
        v.checkpoints,
        hex::encode(v.root)
    )?;
    Ok(())
}

/// The key the copy's checkpoints must verify with, never creating one.
fn verifier_key(
    settings: &Settings,
    args: &BackupArgs,
) -> Result<(String, ed25519_dalek::VerifyingKey), CliError> {
    if let Some(k) = &args.public_key {
        return checkpoint::decode_public_key(k.trim())
            .map_err(|e| CliError(format!("--public-key: {e}")));
    }
    let path = settings.signing_key_path();
    let pepper_known = settings.security.pepper.is_some() || settings.pepper_path().exists();
    if !path.exists() || !pepper_known {
        return Err(CliError(format!(
            "no signing key at {}: give --public-key KEY (pingate audit public-key on the server)",
            path.display()
        )));
    }
    let keys = Keys::load_or_create(settings).map_err(db_error)?;
    Ok((settings.audit.origin.clone(), keys.signing.verifying_key()))
}

/// The backup's file: new (never overwriting) and readable by its owner
/// only, since it holds what the database holds. VACUUM INTO fills an
/// empty file.
fn create_private_empty(path: &Path) -> Result<(), CliError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(drop).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError(format!(
                "{} already exists; a backup never overwrites a file",
                path.display()
            ))
        } else {
            CliError(format!("cannot create {}: {e}", path.display()))
        }
    })
}

pub async fn retention_cmd(settings: Settings, cmd: RetentionCommand) -> Result<(), CliError> {
    let RetentionCommand::Run { dry_run } = cmd;
    let report = if dry_run {
        let now = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
        let (pool, _) = open_for_reading(&settings).await?;
        let r = retention::dry_run_on(&pool, &settings, now).await;
        pool.close().await;
        r?
    } else {
        let st = super::state(settings).await?;
        let r = retention::run(&st, &super::cli_actor(), false).await;
        st.store.close().await;
        r?
    };
    print_report(&report)?;
    Ok(())
}

fn print_report(r: &Report) -> std::io::Result<()> {
    if r.dry_run {
        crate::outln!(
            "retention dry run: would delete {} row(s); nothing was changed",
            r.total()
        )?;
    } else {
        crate::outln!(
            "retention run: deleted {} row(s) in {} batch(es); recorded in the audit log",
            r.total(),
            r.batches
        )?;
    }
    for (what, n) in &r.counts {
        crate::outln!("  {:<24} {n}", what.table())?;
    }
    Ok(())
}
