//! The command line: `pingate serve | migrate | org ... | agent ... |
//! audit ... | config check | demo`. Errors are printed in plain words and
//! end the process with a non-zero status.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ed25519_dalek::VerifyingKey;
use futures_util::StreamExt;
use secrecy::ExposeSecret;

use crate::app::AppState;
use crate::audit::checkpoint;
use crate::audit::checkpointer::{self, Expectation, Verified, VerifyError};
use crate::audit::export;
use crate::clock::SystemClock;
use crate::config::{DEFAULT_CONFIG_PATH, Settings};
use crate::domain::org::{ImportFormat, parse_import};
use crate::keys::Keys;
use crate::service::{ServiceError, orgs, principals};
use crate::store::Store;
use crate::store::audit::AuditFilter;
use crate::store::principals::Role;

#[derive(Debug, Parser)]
#[command(
    name = "pingate",
    version,
    about = "Telephony and PIN verification gateway for phone-support desks"
)]
pub struct Cli {
    /// Configuration file (TOML); `PINGATE__SECTION__KEY` variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (webhooks, API) and the delivery worker.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
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
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Walk through a whole verification against a throwaway database.
    Demo,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Import (create or update) profiles from a TOML or JSON file. Nothing
    /// is written unless every entry is valid.
    Import { file: PathBuf },
    /// List the profiles.
    List,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Agent,
    Reviewer,
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create a principal; prints its bearer token alone on stdout, once.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the audit trail: every event's hash, the chain, gapless seq,
    /// and every stored checkpoint's signature and root. Exits non-zero
    /// naming the first bad seq and the reason.
    Verify(VerifyArgs),
    /// Write the audit trail as JSONL (default) or CSV to stdout.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
    },
    /// Print the key checkpoints are signed with (C2SP verifier key), for
    /// reviewers to pin and pass to `audit verify --public-key`.
    PublicKey,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify this exported JSONL file offline, without the database.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// A signed checkpoint you kept (`GET /v1/audit/checkpoints/latest`):
    /// the log must still contain exactly what it covered, so truncation
    /// and rewritten history are caught.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// The verifier key you pinned (`pingate audit public-key`). Needed
    /// with --export and --checkpoint; against the database it replaces
    /// the key file in the data directory.
    #[arg(long, value_name = "KEY")]
    pub public_key: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum LockoutCommand {
    /// End PIN lockouts of an org (one caller's, or all) and forget the
    /// failures behind them. Audited.
    Reset {
        #[arg(long)]
        org: String,
        /// The caller's E.164 number.
        #[arg(long)]
        caller: Option<String>,
    },
    /// List lockouts in force.
    List,
}

pub async fn lockout(settings: Settings, cmd: LockoutCommand) -> Result<(), CliError> {
    let st = state(settings).await?;
    match cmd {
        LockoutCommand::Reset { org, caller } => {
            let ended =
                crate::service::limits::reset(&st, &cli_actor(), &org, caller.as_deref()).await?;
            println!("{} lockout(s) reset", ended.len());
        }
        LockoutCommand::List => {
            let rows = crate::store::quotas::active_lockouts(st.store.reader(), st.clock.now_ms())
                .await
                .map_err(|e| CliError(e.to_string()))?;
            for l in rows {
                println!(
                    "{} org={} caller={} until={}",
                    l.id,
                    l.org_id,
                    crate::service::limits::pseudonymous_key(&st, &l.caller_key),
                    crate::clock::rfc3339(l.until)
                );
            }
        }
    }
    st.store.close().await;
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration; say what is wrong, if anything.
    Check,
}

/// A command's failure, printed as `error: ...`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

impl From<ServiceError> for CliError {
    fn from(e: ServiceError) -> Self {
        CliError(e.to_string())
    }
}

pub fn load_settings(cli: &Cli) -> Result<Settings, CliError> {
    let (path, explicit) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
    };
    Settings::load(&path, explicit).map_err(|e| CliError(e.to_string()))
}

async fn state(settings: Settings) -> Result<Arc<AppState>, CliError> {
    AppState::build(settings, Arc::new(SystemClock), None)
        .await
        .map_err(|e| CliError(e.to_string()))
}

/// The actor for CLI-made changes: the OS user, so the audit says who.
fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

pub async fn migrate(settings: Settings) -> Result<(), CliError> {
    let store = Store::connect(settings.database.url.expose(), 1)
        .await
        .map_err(|e| CliError(e.to_string()))?;
    store.migrate().await.map_err(|e| CliError(e.to_string()))?;
    eprintln!("migrations applied");
    Ok(())
}

pub async fn org(settings: Settings, cmd: OrgCommand) -> Result<(), CliError> {
    match cmd {
        OrgCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError(format!("cannot read {}: {e}", file.display())))?;
            let profiles =
                parse_import(&text, ImportFormat::from_path(&file)).map_err(|errors| {
                    CliError(format!(
                        "{} has {} error(s); nothing was imported:\n{errors}",
                        file.display(),
                        errors.len()
                    ))
                })?;
            let st = state(settings).await?;
            let report =
                orgs::save_all(&st, &cli_actor(), &profiles)
                    .await
                    .map_err(|e| match e {
                        ServiceError::InvalidMany(errs) => CliError(format!(
                            "nothing was imported:\n{}",
                            errs.iter()
                                .map(|e| e.to_string())
                                .collect::<Vec<_>>()
                                .join("\n")
                        )),
                        other => other.into(),
                    })?;
            st.store.close().await;
            println!(
                "imported {} org(s): {} created, {} updated",
                profiles.len(),
                report.created.len(),
                report.updated.len()
            );
            Ok(())
        }
        OrgCommand::List => {
            let st = state(settings).await?;
            let mut after: Option<String> = None;
            println!(
                "{:<24} {:<32} {:<12} {:<10} NUMBERS",
                "ID", "NAME", "ACCOUNT", "CHANNELS"
            );
            loop {
                let page = crate::store::orgs::list(st.store.reader(), after.as_deref(), 500)
                    .await
                    .map_err(|e| CliError(e.to_string()))?;
                for o in &page {
                    println!(
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
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 500 => after = Some(last.id.as_str().to_string()),
                    _ => break,
                }
            }
            st.store.close().await;
            Ok(())
        }
    }
}

pub async fn agent(settings: Settings, cmd: AgentCommand) -> Result<(), CliError> {
    let AgentCommand::Add { name, role } = cmd;
    let role = match role {
        RoleArg::Agent => Role::Agent,
        RoleArg::Reviewer => Role::Reviewer,
        RoleArg::Admin => Role::Admin,
    };
    let st = state(settings).await?;
    let token = principals::add(&st, &cli_actor(), &name, role).await?;
    st.store.close().await;
    // The token alone on stdout, so `TOKEN=$(pingate agent add ...)` works.
    println!("{}", token.expose_secret());
    eprintln!(
        "created {} {name}; the token above is shown only once",
        role.as_str()
    );
    Ok(())
}

pub async fn audit(settings: Settings, cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify(args) => match &args.export {
            Some(file) => verify_export(file, &args).await,
            None => verify_database(settings, &args).await,
        },
        AuditCommand::Export { format } => {
            let st = state(settings).await?;
            let format = match format {
                ExportFormat::Jsonl => export::Format::Jsonl,
                ExportFormat::Csv => export::Format::Csv,
            };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let io = |e: std::io::Error| CliError(format!("cannot write: {e}"));
            if let Some(h) = export::header(format) {
                out.write_all(&h).map_err(io)?;
            }
            let mut events =
                crate::store::audit::stream(st.store.reader().clone(), AuditFilter::default());
            while let Some(e) = events.next().await {
                let e = e.map_err(|e| CliError(e.to_string()))?;
                out.write_all(&export::line(format, &e)).map_err(io)?;
            }
            out.flush().map_err(io)?;
            Ok(())
        }
        AuditCommand::PublicKey => {
            let keys = Keys::load_or_create(&settings).map_err(|e| CliError(e.to_string()))?;
            let key = checkpoint::encode_public_key(
                &settings.audit.origin,
                &keys.signing.verifying_key(),
            )
            .map_err(|e| CliError(format!("audit.origin: {e}")))?;
            println!("{key}");
            Ok(())
        }
    }
}

/// Progress on stderr for long logs; stdout carries only the verdict.
fn progress(done: u64, total: u64) {
    if done.is_multiple_of(50_000) {
        if total > 0 {
            eprintln!("verified {done} of {total} events");
        } else {
            eprintln!("verified {done} events");
        }
    }
}

/// The pinned key, when given: `(name, key)`.
fn pinned_key(args: &VerifyArgs) -> Result<Option<(String, VerifyingKey)>, CliError> {
    args.public_key
        .as_deref()
        .map(|k| {
            checkpoint::decode_public_key(k.trim())
                .map_err(|e| CliError(format!("--public-key: {e}")))
        })
        .transpose()
}

/// The checkpoint file a reviewer kept, its signature checked.
fn held_checkpoint(
    args: &VerifyArgs,
    name: &str,
    key: &VerifyingKey,
) -> Result<Option<Expectation>, CliError> {
    let Some(file) = &args.checkpoint else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError(format!("cannot read {}: {e}", file.display())))?;
    checkpointer::held_expectation(&text, name, key)
        .map(Some)
        .map_err(|e| CliError(format!("{}: {e}", file.display())))
}

fn verdict(result: Result<Verified, VerifyError>, held: Option<u64>) -> Result<(), CliError> {
    let v = result.map_err(|e| CliError(e.to_string()))?;
    let held = held.map_or(String::new(), |n| {
        format!("; consistent with your checkpoint of size {n}")
    });
    println!(
        "ok: {} events verified, {} stored checkpoints checked{held}; root {}",
        v.events,
        v.checkpoints,
        hex::encode(v.root)
    );
    Ok(())
}

async fn verify_database(settings: Settings, args: &VerifyArgs) -> Result<(), CliError> {
    let st = state(settings).await?;
    let (name, key) = match pinned_key(args)? {
        Some(pinned) => pinned,
        None => (
            st.settings.audit.origin.clone(),
            st.keys.signing.verifying_key(),
        ),
    };
    let held = held_checkpoint(args, &name, &key)?;
    let held_size = held.as_ref().map(|h| h.size);
    let total = crate::store::audit::count(st.store.reader())
        .await
        .map_err(|e| CliError(e.to_string()))?;
    let result = checkpointer::verify_database(st.store.reader(), &name, &key, held, |n| {
        progress(n, total as u64)
    })
    .await;
    st.store.close().await;
    verdict(result, held_size)
}

/// Offline: the export file alone, plus the reviewer's own checkpoint and
/// pinned key (nothing from the server is trusted).
async fn verify_export(file: &std::path::Path, args: &VerifyArgs) -> Result<(), CliError> {
    let held = match (&args.checkpoint, pinned_key(args)?) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(CliError(
                "--checkpoint with --export needs --public-key KEY, the key you pinned (pingate audit public-key)".into(),
            ));
        }
        (Some(_), Some((name, key))) => held_checkpoint(args, &name, &key)?,
    };
    let held_size = held.as_ref().map(|h| h.size);
    let f = std::fs::File::open(file)
        .map_err(|e| CliError(format!("cannot open {}: {e}", file.display())))?;
    let name = file.display().to_string();
    let events = std::io::BufReader::new(f)
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(move |(i, line)| {
            let line = line.map_err(|e| VerifyError::Read(format!("cannot read {name}: {e}")))?;
            crate::audit::export_line::parse(&line)
                .map_err(|e| VerifyError::Read(format!("{name} line {}: {e}", i + 1)))
        });
    let result = checkpointer::verify_log(
        futures_util::stream::iter(events),
        futures_util::stream::empty(),
        held,
        |n| progress(n, 0),
    )
    .await;
    verdict(result, held_size)
}

pub fn config_check(cli: &Cli) -> Result<(), CliError> {
    let settings = load_settings(cli)?;
    let mut notes = Vec::new();
    if settings.twilio.auth_token.is_none() {
        notes.push("twilio.auth_token is not set: Twilio webhooks will answer 503 until it is");
    }
    if settings.email.transport == crate::config::EmailTransport::File
        || settings.sms.transport == crate::config::SmsTransport::File
    {
        notes.push(
            "a file transport is in use: PINs are written to disk in clear (development only)",
        );
    }
    if settings.security.pepper.is_none() {
        notes.push(
            "security.pepper is not set: one is generated into the data directory on first start",
        );
    }
    println!("configuration is valid");
    for n in notes {
        println!("note: {n}");
    }
    Ok(())
}
