//! The command line: `pingate serve | migrate | org ... | agent ... |
//! audit ... | backup | retention ... | config check | demo`. Errors are printed in plain words and
//! end the process with a non-zero status.

pub mod maintenance;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::app::AppState;
use crate::clock::SystemClock;
use crate::config::{ConfigError, DEFAULT_CONFIG_PATH, Loaded, Settings};
use crate::domain::org::{ImportErrors, ImportFormat, parse_import};
use crate::outln;
use crate::service::{ServiceError, orgs};
use crate::store::Store;

mod agents;
mod audit_trail;
mod os_user;
pub mod output;
mod simulate;

pub use agents::{AgentCommand, RoleArg};
pub use audit_trail::{AuditCommand, ExportFormat, VerifyArgs};
pub use simulate::CallCommand;

#[derive(Debug, Parser)]
#[command(
    name = "pingate",
    version,
    about = "Telephony and PIN verification gateway for phone-support desks"
)]
pub struct Cli {
    /// Configuration file (TOML) [default: config/pingate.toml, when it
    /// exists; otherwise built-in defaults]; `PINGATE__SECTION__KEY`
    /// variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (webhooks, API) and the delivery worker.
    Serve(DevArgs),
    /// Apply database migrations and exit (`--check`: only say whether
    /// any are pending).
    Migrate(maintenance::MigrateArgs),
    /// Take a consistent copy of the running SQLite database and verify it.
    Backup(maintenance::BackupArgs),
    /// Delete what the retention policy no longer keeps.
    #[command(subcommand)]
    Retention(maintenance::RetentionCommand),
    /// Organisation profiles.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Agents, reviewers and administrators.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// PIN lockouts.
    #[command(subcommand)]
    Lockout(LockoutCommand),
    /// Try calls without a phone (signed webhooks to the running instance).
    #[command(subcommand)]
    Call(CallCommand),
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Walk through a whole verification against a throwaway database.
    Demo,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct DevArgs {
    /// Accept a file transport (PINs written in clear) although
    /// server.listen is not a loopback address. For development only.
    #[arg(long)]
    pub dev: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Import (create or update) profiles from a TOML or JSON file. Nothing
    /// is written unless every entry is valid.
    Import {
        /// A .toml or .json file of `[[org]]` profiles (see docs/operating.md).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// List the profiles.
    List,
    /// Serve an org past its spent PIN budgets (its failure ceiling, its
    /// challenge and check quotas) for a short while. Audited.
    Override {
        /// The org (its id, as in `pingate org list`).
        #[arg(value_name = "ORG_ID")]
        org: String,
        /// Why; kept in the audit event.
        #[arg(long)]
        reason: String,
        /// How long, in minutes (at most `limits.override_max`).
        #[arg(long, default_value_t = 15)]
        minutes: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum LockoutCommand {
    /// End PIN lockouts of an org (one caller's, or all) and forget the
    /// failures behind them. Audited.
    Reset {
        /// The org whose lockouts end (its id, as in `pingate org list`).
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        /// The caller's E.164 number.
        #[arg(long)]
        caller: Option<String>,
    },
    /// List lockouts in force.
    List,
}

pub async fn lockout(settings: Settings, cmd: LockoutCommand) -> Result<(), CliError> {
    let st = match cmd {
        LockoutCommand::List => read_only_state(settings).await?,
        LockoutCommand::Reset { .. } => state(settings).await?,
    };
    let done = match cmd {
        LockoutCommand::Reset { org, caller } => {
            match crate::service::limits::reset(&st, &cli_actor(), &org, caller.as_deref()).await {
                Ok(ended) => outln!("{} lockout(s) reset", ended.len()).map_err(cannot_write),
                Err(ServiceError::NotFound(_)) => Err(CliError(format!(
                    "no org has the id {org:?} (see `pingate org list`)"
                ))),
                Err(e) => Err(e.into()),
            }
        }
        LockoutCommand::List => list_lockouts(&st).await,
    };
    st.store.close().await;
    done
}

async fn list_lockouts(st: &AppState) -> Result<(), CliError> {
    let rows = crate::store::quotas::active_lockouts(st.store.reader(), st.clock.now_ms())
        .await
        .map_err(|e| CliError(e.to_string()))?;
    if rows.is_empty() {
        eprintln!("no lockouts in force");
    }
    for l in rows {
        outln!(
            "{} org={} caller={} until={}",
            l.id,
            l.org_id,
            crate::service::limits::pseudonymous_key(st, &l.caller_key),
            crate::clock::rfc3339(l.until)
        )
        .map_err(cannot_write)?;
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration, the log filter and the
    /// database connection; say what is wrong, if anything.
    Check(DevArgs),
}

/// A command's failure, printed as `error: ...`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

/// A write to stdout that failed (a closed pipe is noted, so the command
/// ends quietly).
impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        let e = output::note::<()>(Err(e)).unwrap_err();
        CliError(format!("cannot write: {e}"))
    }
}

impl From<ServiceError> for CliError {
    fn from(e: ServiceError) -> Self {
        CliError(e.to_string())
    }
}

/// The configuration and where it came from (`--config`, else the default
/// file if it exists, else defaults; then the environment).
pub fn load_config(cli: &Cli) -> Result<Loaded, CliError> {
    load_config_from(cli).map_err(|e| CliError(e.to_string()))
}

fn load_config_from(cli: &Cli) -> Result<Loaded, ConfigError> {
    let (path, explicit) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
    };
    Settings::load(&path, explicit)
}

pub fn load_settings(cli: &Cli) -> Result<Settings, CliError> {
    load_config(cli).map(|l| l.settings)
}

async fn state(settings: Settings) -> Result<Arc<AppState>, CliError> {
    AppState::build(settings, Arc::new(SystemClock), None)
        .await
        .map_err(|e| CliError(e.to_string()))
}

/// For commands that only read: the database and keys must exist already
/// (the error says where it looked); nothing is created or migrated.
pub async fn read_only_state(settings: Settings) -> Result<Arc<AppState>, CliError> {
    AppState::open_existing(settings, Arc::new(SystemClock))
        .await
        .map_err(|e| CliError(e.to_string()))
}

/// The existing, migrated database alone (commands that need no keys).
async fn existing_store(settings: &Settings) -> Result<Store, CliError> {
    Store::open_existing(
        settings.database.url.expose(),
        settings.database.max_connections,
    )
    .await
    .map_err(|e| CliError(e.to_string()))
}

/// The actor for CLI-made changes: the OS user, so the audit says who.
fn cli_actor() -> String {
    format!("cli:{}", os_user::name())
}

/// Which file the settings came from, in words for the log and the demo.
pub fn config_source(cli: &Cli) -> String {
    match &cli.config {
        Some(p) => p.display().to_string(),
        None if std::path::Path::new(DEFAULT_CONFIG_PATH).is_file() => DEFAULT_CONFIG_PATH.into(),
        None => "none (built-in defaults and PINGATE__ variables)".into(),
    }
}

/// `pingate demo`: the configured PIN and grant rules on a throwaway
/// instance; the output names the file they came from.
pub async fn demo(cli: &Cli) -> Result<(), CliError> {
    let settings = load_settings(cli)?;
    crate::demo::run(settings, &config_source(cli))
        .await
        .map_err(|e| CliError(e.to_string()))
}

pub async fn migrate(settings: Settings) -> Result<(), CliError> {
    let store = Store::connect(settings.database.url.expose(), 1)
        .await
        .map_err(|e| CliError(e.to_string()))?;
    store.migrate().await.map_err(|e| CliError(e.to_string()))?;
    eprintln!("migrations applied");
    Ok(())
}

/// `org import FILE`: every mistake, whether in the file or against the
/// database, is reported under the file's name; nothing is written then.
async fn import_orgs(settings: Settings, file: &std::path::Path) -> Result<(), CliError> {
    let shown = file.display();
    let format = ImportFormat::for_file(file).ok_or_else(|| {
        CliError(format!(
            "{shown}: unknown file type; org profiles are read from .toml or .json files"
        ))
    })?;
    let text =
        std::fs::read_to_string(file).map_err(|e| CliError(format!("cannot read {shown}: {e}")))?;
    let refused = |errors: &ImportErrors| {
        CliError(format!(
            "{shown} has {} error(s); nothing was imported:\n{errors}",
            errors.len()
        ))
    };
    let profiles = parse_import(&text, format).map_err(|e| refused(&e))?;
    let st = state(settings).await?;
    let saved = orgs::save_all(&st, &cli_actor(), &profiles).await;
    st.store.close().await;
    let report = saved.map_err(|e| match e {
        ServiceError::InvalidMany(errors) => refused(&ImportErrors { errors }),
        other => other.into(),
    })?;
    outln!(
        "imported {} org(s): {} created, {} updated, {} unchanged",
        profiles.len(),
        report.created.len(),
        report.updated.len(),
        report.unchanged.len()
    )
    .map_err(cannot_write)
}

async fn override_org(
    settings: Settings,
    org: &str,
    reason: &str,
    minutes: u64,
) -> Result<(), CliError> {
    let st = state(settings).await?;
    let actor = cli_actor();
    let req = crate::service::overrides::Request {
        actor: &actor,
        org_id: org,
        reason,
        lasts: std::time::Duration::from_secs(minutes.saturating_mul(60)),
    };
    let done = match crate::service::overrides::grant(&st, req).await {
        Ok(o) => outln!(
            "{} org={} until={}",
            o.id,
            o.org_id,
            crate::clock::rfc3339(o.expires_at)
        )
        .map_err(cannot_write),
        Err(ServiceError::NotFound(_)) => Err(CliError(format!(
            "no org has the id {org:?} (see `pingate org list`)"
        ))),
        Err(e) => Err(e.into()),
    };
    st.store.close().await;
    done
}

fn cannot_write(e: std::io::Error) -> CliError {
    CliError(format!("cannot write: {e}"))
}

pub async fn org(settings: Settings, cmd: OrgCommand) -> Result<(), CliError> {
    match cmd {
        OrgCommand::Import { file } => import_orgs(settings, &file).await,
        OrgCommand::Override {
            org,
            reason,
            minutes,
        } => override_org(settings, &org, &reason, minutes).await,
        OrgCommand::List => {
            let store = existing_store(&settings).await?;
            let mut after: Option<String> = None;
            outln!(
                "{:<24} {:<32} {:<12} {:<10} NUMBERS",
                "ID",
                "NAME",
                "ACCOUNT",
                "CHANNELS"
            )
            .map_err(cannot_write)?;
            loop {
                let page = crate::store::orgs::list(store.reader(), after.as_deref(), 500)
                    .await
                    .map_err(|e| CliError(e.to_string()))?;
                for o in &page {
                    outln!(
                        "{:<24} {:<32} {:<12} {:<10} {}",
                        o.id.as_str(),
                        o.name,
                        o.account_number,
                        o.channels
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        o.registered_numbers
                            .iter()
                            .map(|n| n.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                    .map_err(cannot_write)?;
                }
                match page.last() {
                    Some(last) if page.len() == 500 => after = Some(last.id.as_str().to_string()),
                    _ => break,
                }
            }
            store.close().await;
            Ok(())
        }
    }
}

pub async fn call(settings: Settings, cmd: CallCommand) -> Result<(), CliError> {
    simulate::run(settings, cmd).await
}

pub async fn agent(settings: Settings, cmd: AgentCommand) -> Result<(), CliError> {
    agents::run(settings, cmd).await
}

pub async fn audit(settings: Settings, cmd: AuditCommand) -> Result<(), CliError> {
    audit_trail::run(settings, cmd).await
}

/// `config check`: see [`crate::config_check`].
pub async fn config_check(cli: &Cli, args: DevArgs) -> Result<(), CliError> {
    crate::config_check::run(load_config_from(cli), args.dev, &mut output::Stdout)
        .await
        .map_err(|e| CliError(e.to_string()))
}
