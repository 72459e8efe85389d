//! `pingate call simulate`: a caller without a phone. Posts Twilio's voice
//! webhook (and, when asked, the IVR digits and the hang-up) to the running
//! instance at `server.public_base_url`, each signed with the configured
//! `twilio.auth_token` exactly as Twilio signs. The TwiML answers go to
//! stderr; the call id alone to stdout, so `CALL=$(pingate call simulate
//! ...)` works.

use clap::{Args, Subcommand};

use super::CliError;
use crate::config::Settings;
use crate::outln;
use crate::providers::twilio::signature;
use crate::store::Store;
use crate::store::calls::CallFilter;

#[derive(Debug, Subcommand)]
pub enum CallCommand {
    /// Simulate an incoming call against the running instance (signed
    /// webhooks); prints the TwiML on stderr and the call id on stdout.
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The caller's number as Twilio sends it (E.164, e.g. +14155550123,
    /// or `anonymous` for a withheld caller).
    #[arg(long, value_name = "NUMBER")]
    pub from: String,
    /// The number called.
    #[arg(long, value_name = "NUMBER", default_value = "+18005550100")]
    pub to: String,
    /// STIR/SHAKEN attestation: A, B or C (or Twilio's full
    /// `TN-Validation-Passed-A`); default none.
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

fn stir_verstat(a: &str) -> String {
    match a.to_ascii_uppercase().as_str() {
        "A" | "B" | "C" => format!("TN-Validation-Passed-{}", a.to_ascii_uppercase()),
        _ => a.to_string(),
    }
}

/// The `action` of the first `<Gather>` in a TwiML answer, unescaped.
fn gather_action(twiml: &str) -> Option<String> {
    let at = twiml.find("<Gather")?;
    let rest = &twiml[at..];
    let start = rest.find("action=\"")? + "action=\"".len();
    let end = rest[start..].find('"')?;
    Some(
        rest[start..start + end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

struct Caller {
    http: reqwest::Client,
    token: String,
}

impl Caller {
    /// Posts one signed webhook; answers the body, or says why not.
    async fn post(&self, url: &str, params: &[(String, String)]) -> Result<String, CliError> {
        let sig = signature::sign(url, params, self.token.as_bytes());
        let resp = self
            .http
            .post(url)
            .header("x-twilio-signature", sig)
            .form(params)
            .send()
            .await
            .map_err(|e| {
                CliError(format!(
                    "cannot reach pingate at {url}: {e} (is `pingate serve` running with this configuration?)"
                ))
            })?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(CliError(format!(
                "{url} answered {status}: {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        Ok(body)
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub async fn run(settings: Settings, cmd: CallCommand) -> Result<(), CliError> {
    let CallCommand::Simulate(args) = cmd;
    let token = settings.twilio.auth_token.as_ref().ok_or_else(|| {
        CliError(
            "twilio.auth_token is not set: there is nothing to sign the webhooks with (and the instance answers them 503)".into(),
        )
    })?;
    let caller = Caller {
        http: reqwest::Client::new(),
        token: token.expose().to_string(),
    };
    let base = settings.server.public_base_url.trim_end_matches('/');
    let call_sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let account = settings
        .twilio
        .account_sid
        .clone()
        .unwrap_or_else(|| format!("AC{}", "0".repeat(32)));
    let mut voice = vec![
        ("CallSid", call_sid.as_str()),
        ("AccountSid", account.as_str()),
        ("From", args.from.as_str()),
        ("To", args.to.as_str()),
        ("CallStatus", "ringing"),
    ];
    let verstat = args.attestation.as_deref().map(stir_verstat);
    if let Some(v) = &verstat {
        voice.push(("StirVerstat", v.as_str()));
    }
    eprintln!("== POST {base}/webhooks/twilio/voice (CallSid {call_sid})");
    let twiml = caller
        .post(&format!("{base}/webhooks/twilio/voice"), &pairs(&voice))
        .await?;
    eprintln!("{twiml}");
    if let Some(digits) = &args.digits {
        match gather_action(&twiml) {
            Some(action) => {
                eprintln!("== POST {action} (Digits {digits})");
                let form = pairs(&[
                    ("CallSid", &call_sid),
                    ("AccountSid", &account),
                    ("Digits", digits),
                ]);
                eprintln!("{}", caller.post(&action, &form).await?);
            }
            None => eprintln!(
                "(the call asked for no digits: its org is known from the number; --digits not sent)"
            ),
        }
    }
    if args.hangup {
        eprintln!("== POST {base}/webhooks/twilio/status (CallStatus completed)");
        let form = pairs(&[
            ("CallSid", &call_sid),
            ("AccountSid", &account),
            ("CallStatus", "completed"),
            ("SequenceNumber", "1"),
        ]);
        caller
            .post(&format!("{base}/webhooks/twilio/status"), &form)
            .await?;
    }
    let call_id = find_call_id(&settings, &call_sid).await;
    match call_id {
        Some(id) => outln!("{id}").map_err(|e| CliError(format!("cannot write: {e}"))),
        None => {
            eprintln!(
                "the call is CallSid {call_sid}; its call id: GET {base}/v1/calls?provider_call_id={call_sid} (agent token)"
            );
            Ok(())
        }
    }
}

/// The call's id from the instance's database, when this configuration
/// reaches it (never creating a database that is not there).
async fn find_call_id(settings: &Settings, call_sid: &str) -> Option<String> {
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
        provider_call_id: Some(call_sid.to_string()),
        before: None,
    };
    let rows = crate::store::calls::list(store.reader(), &filter, 1)
        .await
        .ok();
    store.close().await;
    rows?.into_iter().next().map(|c| c.id)
}

#[cfg(test)]
mod tests;
