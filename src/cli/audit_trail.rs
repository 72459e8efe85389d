//! `pingate audit verify | export | public-key`: the audit trail from the
//! command line. Verification reads the database or an exported file
//! (offline, against the reviewer's pinned key and kept checkpoint);
//! stdout carries only the verdict or the export, progress goes to stderr.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use ed25519_dalek::VerifyingKey;
use futures_util::StreamExt;

use super::{CliError, existing_store};
use crate::audit::{checkpoint, export};
use crate::config::Settings;
use crate::keys::{Keys, Missing};
use crate::outln;
use crate::service::checkpointer::{self, Expectation, Verified, VerifyError};
use crate::store::audit::AuditFilter;

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

pub(super) async fn run(settings: Settings, cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify(args) => match &args.export {
            Some(file) => verify_export(file, &args).await,
            None => verify_database(settings, &args).await,
        },
        AuditCommand::Export { format } => {
            let store = existing_store(&settings).await?;
            let format = match format {
                ExportFormat::Jsonl => export::Format::Jsonl,
                ExportFormat::Csv => export::Format::Csv,
            };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let io = CliError::from;
            if let Some(h) = export::header(format) {
                out.write_all(&h).map_err(io)?;
            }
            let mut events =
                crate::store::audit::stream(store.reader().clone(), AuditFilter::default());
            while let Some(e) = events.next().await {
                let e = e.map_err(|e| CliError(e.to_string()))?;
                out.write_all(&export::line(format, &e)).map_err(io)?;
            }
            out.flush().map_err(io)?;
            Ok(())
        }
        AuditCommand::PublicKey => {
            let signing = Keys::signing_key(&settings, Missing::Refuse)
                .map_err(|e| CliError(e.to_string()))?;
            let key =
                checkpoint::encode_public_key(&settings.audit.origin, &signing.verifying_key())
                    .map_err(|e| CliError(format!("audit.origin: {e}")))?;
            outln!("{key}")?;
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
    outln!(
        "ok: {} events verified, {} stored checkpoints checked{held}; root {}",
        v.events,
        v.checkpoints,
        hex::encode(v.root)
    )?;
    Ok(())
}

async fn verify_database(settings: Settings, args: &VerifyArgs) -> Result<(), CliError> {
    let (name, key) = match pinned_key(args)? {
        Some(pinned) => pinned,
        None => (
            settings.audit.origin.clone(),
            Keys::signing_key(&settings, Missing::Refuse)
                .map_err(|e| CliError(e.to_string()))?
                .verifying_key(),
        ),
    };
    let store = existing_store(&settings).await?;
    let held = held_checkpoint(args, &name, &key)?;
    let held_size = held.as_ref().map(|h| h.size);
    let total = crate::store::audit::count(store.reader())
        .await
        .map_err(|e| CliError(e.to_string()))?;
    let result = checkpointer::verify_database(store.reader(), &name, &key, held, |n| {
        progress(n, total as u64)
    })
    .await;
    store.close().await;
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
