//! `pingate call simulate`: a caller without a phone. Posts the provider's
//! webhook for an arriving call (and, when asked, the IVR digits and the
//! hang-up) to the running instance at `server.public_base_url`, each
//! signed as the provider signs them (`providers::simulated`). The
//! instance's replies go to stderr; the call id alone to stdout, so
//! `CALL=$(pingate call simulate ...)` works.

use clap::{Args, Subcommand};

use super::CliError;
use crate::config::Settings;
use crate::outln;
use crate::providers::simulated::{CallerError, NAME, SimulatedCall, digits_url};
use crate::store::Store;
use crate::store::calls::CallFilter;

#[derive(Debug, Subcommand)]
pub enum CallCommand {
    /// Simulate an incoming call against the running instance (signed
    /// webhooks); prints the replies on stderr and the call id on stdout.
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The caller's number as the provider sends it (E.164, e.g. +14155550123,
    /// or `anonymous` for a withheld caller).
    #[arg(long, value_name = "NUMBER")]
    pub from: String,
    /// The number called.
    #[arg(long, value_name = "NUMBER", default_value = "+18005550100")]
    pub to: String,
    /// STIR/SHAKEN attestation: A, B or C (or the provider's full word,
    /// e.g. `TN-Validation-Passed-A`); default none.
    #[arg(long, value_name = "A")]
    pub attestation: Option<String>,
    /// Digits the caller keys into the IVR (the org's account number),
    /// posted to the `<Gather>` the call answered with.
    #[arg(long, value_name = "DIGITS")]
    pub digits: Option<String>,
    /// Hang up at the end (posts the `completed` status callback).
    #[arg(long)]
    pub hangup: bool,
}

pub async fn run(settings: Settings, cmd: CallCommand) -> Result<(), CliError> {
    let CallCommand::Simulate(args) = cmd;
    let base = settings.server.public_base_url.trim_end_matches('/');
    let call = SimulatedCall::new(&settings, base).map_err(failed)?;
    let call_ref = call.call_ref();
    eprintln!("== POST {} ({} call {call_ref})", call.arrival_url(), NAME);
    let reply = call
        .arrive(&args.from, &args.to, args.attestation.as_deref())
        .await
        .map_err(failed)?;
    eprintln!("{reply}");
    if let Some(digits) = &args.digits {
        match digits_url(&reply) {
            Some(url) => {
                eprintln!("== POST {url} (Digits {digits})");
                eprintln!("{}", call.key(&url, digits).await.map_err(failed)?);
            }
            None => eprintln!(
                "(the call asked for no digits: its org is known from the number; --digits not sent)"
            ),
        }
    }
    if args.hangup {
        eprintln!("== POST {} (the call ends)", call.hang_up_url());
        call.hang_up().await.map_err(failed)?;
    }
    let call_id = find_call_id(&settings, call_ref).await;
    match call_id {
        Some(id) => outln!("{id}").map_err(|e| CliError(format!("cannot write: {e}"))),
        None => {
            eprintln!(
                "the call is {NAME} call {call_ref}; its call id: GET {base}/v1/calls?provider_call_id={call_ref} (agent token)"
            );
            Ok(())
        }
    }
}

fn failed(e: CallerError) -> CliError {
    CliError(e.to_string())
}

/// The call's id from the instance's database, when this configuration
/// reaches it (never creating a database that is not there).
async fn find_call_id(settings: &Settings, call_ref: &str) -> Option<String> {
    let url = settings.database.url.expose();
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or_default();
        if !std::path::Path::new(path).is_file() {
            return None;
        }
    }
    let store = Store::connect(url, 1).await.ok()?;
    let filter = CallFilter {
        status: None,
        provider_call_id: Some(call_ref.to_string()),
        before: None,
    };
    let rows = crate::store::calls::list(store.reader(), &filter, 1)
        .await
        .ok();
    store.close().await;
    rows?.into_iter().next().map(|c| c.id)
}
