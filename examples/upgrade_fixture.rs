//! Writes the upgrade fixture: a small database as a release leaves it
//! (orgs, principals, ended and active calls, challenges, grants, messages,
//! webhook receipts, audit events and a signed checkpoint). Run it from the
//! release being frozen, through tests/fixtures/upgrade/make.sh; the later
//! code's upgrade test migrates the result and runs the flow on it.
//!
//!     cargo run --example upgrade_fixture -- DATABASE_URL DATA_DIR

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pingate::clock::SystemClock;
use pingate::config::{Secret, Settings};
use pingate::domain::org::{ImportFormat, parse_import};
use pingate::providers::twilio::signature;
use pingate::store::principals::Role;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// Test-only secrets, committed with the fixture (they protect nothing).
pub const PEPPER: &str = "upgrade-fixture-pepper-0123456789abcdef";
pub const AUTH_TOKEN: &str = "upgrade-fixture-auth-token-0123456789";

const ORGS: &str = r#"
[[org]]
id = "contoso"
name = "Contoso Ltd"
account_number = "40012345"
registered_numbers = ["+14155550100"]
channels = ["email", "sms"]
[org.contacts]
email = "it-admin@contoso.example"
sms = "+14155550199"

[[org]]
id = "fabrikam"
name = "Fabrikam"
account_number = "40067890"
registered_numbers = ["+8613800138000"]
channels = ["email"]
[org.contacts]
email = "ops@fabrikam.example"
"#;

type Failure = Box<dyn std::error::Error>;

struct Driver {
    http: reqwest::Client,
    base: String,
    agent: String,
}

impl Driver {
    async fn webhook(&self, path: &str, params: &[(&str, &str)]) -> Result<(), Failure> {
        let url = format!("{}{path}", self.base);
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sig = signature::sign(&url, &owned, AUTH_TOKEN.as_bytes());
        let resp = self
            .http
            .post(url)
            .header("x-twilio-signature", sig)
            .form(&owned)
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(format!("{path}: {}", resp.status()).into());
        }
        Ok(())
    }

    async fn call(&self, sid: &str, from: &str, attestation: &str) -> Result<String, Failure> {
        self.webhook(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", sid),
                ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
                ("From", from),
                ("To", "+18005550100"),
                ("StirVerstat", attestation),
            ],
        )
        .await?;
        let list = self
            .api(
                self.http
                    .get(format!("{}/v1/calls?provider_call_id={sid}", self.base)),
            )
            .await?;
        text(&list["items"][0]["call_id"], &format!("call {sid}: {list}"))
    }

    async fn hang_up(&self, sid: &str) -> Result<(), Failure> {
        self.webhook(
            "/webhooks/twilio/status",
            &[("CallSid", sid), ("CallStatus", "completed")],
        )
        .await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, Failure> {
        self.api(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn api(&self, req: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let resp = req.bearer_auth(&self.agent).send().await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            return Err(format!("{status}: {body}").into());
        }
        Ok(body)
    }
}

fn text(v: &Value, what: &str) -> Result<String, Failure> {
    Ok(v.as_str()
        .ok_or_else(|| format!("unexpected answer for {what}: {v}"))?
        .to_string())
}

/// The PIN of the SMS the file transport wrote (bounded wait for the worker).
async fn sms_pin(outbox: &Path) -> Result<String, Failure> {
    for _ in 0..100 {
        if let Ok(entries) = std::fs::read_dir(outbox) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().ends_with(".sms.json") {
                    let v: Value = serde_json::from_str(&std::fs::read_to_string(e.path())?)?;
                    // The PIN message, not a grant notice (whose call id may
                    // hold six digits in a row).
                    if let Some((_, after)) = v["body"]
                        .as_str()
                        .unwrap_or_default()
                        .split_once("support code: ")
                        && let Some(code) = after
                            .split(|c: char| !c.is_ascii_digit())
                            .find(|w| w.len() == 6)
                    {
                        return Ok(code.to_string());
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the SMS did not arrive in the outbox".into())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(data)) = (args.next(), args.next()) else {
        return Err("usage: upgrade_fixture DATABASE_URL DATA_DIR".into());
    };
    let data = PathBuf::from(data);
    let outbox = data.join("outbox");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut s = Settings::default();
    s.server.public_base_url = base.clone();
    s.server.data_dir = data.clone();
    s.database.url = Secret::from(url.as_str());
    s.twilio.auth_token = Some(Secret::from(AUTH_TOKEN));
    s.security.pepper = Some(Secret::from(PEPPER));
    s.email.file_dir = Some(outbox.clone());
    s.sms.file_dir = Some(outbox.clone());
    s.validate()?;
    let server = pingate::start(s, Arc::new(SystemClock), listener).await?;
    let st = Arc::clone(&server.state);
    pingate::service::orgs::save_all(&st, "fixture", &parse_import(ORGS, ImportFormat::Toml)?)
        .await?;
    let agent = pingate::service::principals::add(&st, "fixture", "alice", Role::Agent).await?;
    pingate::service::principals::add(&st, "fixture", "rita", Role::Reviewer).await?;
    let d = Driver {
        http: reqwest::Client::new(),
        base,
        agent: agent.expose_secret().to_string(),
    };

    // A trusted caller, granted, hung up.
    let trusted = d
        .call(
            "CAf1000000000000000000000000000001",
            "+14155550100",
            "TN-Validation-Passed-A",
        )
        .await?;
    d.post(&format!("/v1/calls/{trusted}/grant"), json!({}))
        .await?;
    d.hang_up("CAf1000000000000000000000000000001").await?;

    // An unknown caller: IVR, SMS PIN, a wrong then the right PIN, grant
    // revoked, hung up.
    let sid = "CAf1000000000000000000000000000002";
    let verified = d
        .call(sid, "+14155550123", "TN-Validation-Passed-B")
        .await?;
    d.webhook(
        "/webhooks/twilio/gather",
        &[("CallSid", sid), ("Digits", "40012345")],
    )
    .await?;
    let ch = d
        .post(
            &format!("/v1/calls/{verified}/challenges"),
            json!({"channel": "sms"}),
        )
        .await?;
    let check = format!(
        "/v1/challenges/{}/check",
        text(&ch["challenge_id"], &ch.to_string())?
    );
    let pin = sms_pin(&outbox).await?;
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    d.post(&check, json!({"pin": wrong})).await?;
    let ok = d.post(&check, json!({"pin": pin})).await?;
    d.post(
        &format!(
            "/v1/grants/{}/revoke",
            text(&ok["grant"]["grant_id"], &ok.to_string())?
        ),
        json!({}),
    )
    .await?;
    d.hang_up(sid).await?;

    // Still going: a withheld caller, and a caller with a pending email PIN.
    d.call("CAf1000000000000000000000000000003", "anonymous", "")
        .await?;
    let pending = d
        .call("CAf1000000000000000000000000000004", "+8613800138000", "")
        .await?;
    d.post(
        &format!("/v1/calls/{pending}/challenges"),
        json!({"channel": "email"}),
    )
    .await?;

    pingate::service::checkpointer::checkpoint_now(&st).await?;
    server.shutdown().await?;
    std::fs::remove_dir_all(&outbox)?;
    println!("fixture written to {url} (keys in {})", data.display());
    Ok(())
}
