//! Response-time comparisons that a test cannot make on a shared machine:
//! an unknown challenge id against a wrong PIN on a real challenge (at the
//! production argon2 cost, where the hash dominates), a registered against
//! an unknown calling number, and a known against an unknown account number
//! typed in the IVR. Samples are interleaved and compared by median; the
//! ratios should be near 1. The suite checks the work itself (one argon2
//! verify per check, the same writes per webhook) in tests/api/timing.rs.
//! Starts a throwaway server in-process (SQLite in a temp directory).
//!
//!     cargo run --release --example timing_compare -- [SAMPLES]

use std::sync::Arc;
use std::time::{Duration, Instant};

use pingate::clock::SystemClock;
use pingate::config::{Secret, Settings};
use pingate::domain::org::{ImportFormat, parse_import};
use pingate::providers::twilio::signature;
use pingate::store::principals::Role;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const AUTH_TOKEN: &str = "timing-compare-auth-token-0123456789";
const ORG: &str = r#"
[[org]]
id = "contoso"
name = "Contoso Ltd"
account_number = "40012345"
registered_numbers = ["+14155550100"]
channels = ["email"]
[org.contacts]
email = "it-admin@contoso.example"
"#;

type Failure = Box<dyn std::error::Error>;

struct Driver {
    http: reqwest::Client,
    base: String,
    agent: String,
}

impl Driver {
    /// A signed webhook; returns how long it took to answer.
    async fn webhook(&self, path: &str, params: &[(&str, &str)]) -> Result<Duration, Failure> {
        let url = format!("{}{path}", self.base);
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sig = signature::sign(&url, &owned, AUTH_TOKEN.as_bytes());
        let t = Instant::now();
        let resp = self
            .http
            .post(url)
            .header("x-twilio-signature", sig)
            .form(&owned)
            .send()
            .await?;
        let status = resp.status();
        resp.bytes().await?;
        let took = t.elapsed();
        if !status.is_success() {
            return Err(format!("{path}: {status}").into());
        }
        Ok(took)
    }

    async fn call(&self, sid: &str, from: &str) -> Result<Duration, Failure> {
        self.webhook(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", sid),
                ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
                ("From", from),
                ("To", "+18005550100"),
                ("CallStatus", "ringing"),
                ("Direction", "inbound"),
            ],
        )
        .await
    }

    /// The agent's request; returns (status, body, time to answer).
    async fn post(&self, path: &str, body: Value) -> Result<(u16, Value, Duration), Failure> {
        let t = Instant::now();
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.agent)
            .json(&body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        Ok((status, body, t.elapsed()))
    }

    async fn call_id(&self, sid: &str) -> Result<String, Failure> {
        let resp = self
            .http
            .get(format!("{}/v1/calls?provider_call_id={sid}", self.base))
            .bearer_auth(&self.agent)
            .send()
            .await?;
        let list: Value = resp.json().await?;
        Ok(list["items"][0]["call_id"]
            .as_str()
            .ok_or_else(|| format!("call {sid} not listed: {list}"))?
            .to_string())
    }
}

fn sid() -> String {
    format!("CA{}", uuid::Uuid::new_v4().simple())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(what: &str, a_name: &str, a: Vec<Duration>, b_name: &str, b: Vec<Duration>) {
    let n = a.len();
    let (a, b) = (median(a), median(b));
    let ratio = b.as_secs_f64() / a.as_secs_f64();
    println!("{what} ({n} samples each): median {a_name} {a:?}, {b_name} {b:?}, ratio {ratio:.2}");
}

/// Wrong PINs on real challenges against unknown ids, interleaved: each
/// call gets one challenge and nine wrong guesses (the call's budget is 10).
async fn checks(d: &Driver, samples: usize) -> Result<(), Failure> {
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let mut n = 0;
    while known.len() < samples {
        if n > samples {
            return Err("wrong PINs are not answered as such".into());
        }
        let sid = sid();
        d.call(&sid, &format!("+1415555{:04}", 1000 + n)).await?;
        n += 1;
        let call_id = d.call_id(&sid).await?;
        d.post(
            &format!("/v1/calls/{call_id}/org"),
            json!({"org_id": "contoso"}),
        )
        .await?;
        let (status, ch, _) = d
            .post(
                &format!("/v1/calls/{call_id}/challenges"),
                json!({"channel": "email"}),
            )
            .await?;
        let id = ch["challenge_id"]
            .as_str()
            .ok_or_else(|| format!("no challenge ({status}): {ch}"))?
            .to_string();
        for guess in 0..9 {
            let pin = format!("{:06}", 100_000 + guess * 7_919);
            let (status, r, took) = d
                .post(&format!("/v1/challenges/{id}/check"), json!({"pin": pin}))
                .await?;
            if status != 200 || r["status"] != "pending" {
                // A lucky guess or a spent budget: take the next call.
                break;
            }
            known.push(took);
            let ghost = format!("chl_{}", uuid::Uuid::new_v4().simple());
            let (status, _, took) = d
                .post(
                    &format!("/v1/challenges/{ghost}/check"),
                    json!({"pin": pin}),
                )
                .await?;
            if status != 404 {
                return Err(format!("an unknown id answered {status}").into());
            }
            unknown.push(took);
        }
    }
    report("PIN checks", "wrong PIN", known, "unknown id", unknown);
    Ok(())
}

/// Registered against unknown numbers, and known against unknown account
/// numbers in the IVR, interleaved.
async fn webhooks(d: &Driver, samples: usize) -> Result<(), Failure> {
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let (mut known_acct, mut unknown_acct) = (Vec::new(), Vec::new());
    for i in 0..samples {
        known.push(d.call(&sid(), "+14155550100").await?);
        unknown.push(d.call(&sid(), "+14155550177").await?);
        for (digits, out) in [
            ("40012345", &mut known_acct),
            ("49999999", &mut unknown_acct),
        ] {
            let sid = sid();
            d.call(&sid, &format!("+1415556{:04}", i % 10_000)).await?;
            let gather = [("CallSid", sid.as_str()), ("Digits", digits)];
            out.push(d.webhook("/webhooks/twilio/gather", &gather).await?);
        }
    }
    report("voice webhook", "registered", known, "unknown", unknown);
    report("IVR account", "known", known_acct, "unknown", unknown_acct);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let samples: usize = std::env::args().nth(1).map_or(Ok(50), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut s = Settings::default();
    s.server.public_base_url = base.clone();
    s.server.data_dir = dir.path().join("data");
    s.database.url =
        Secret::from(format!("sqlite://{}", dir.path().join("pingate.db").display()).as_str());
    s.twilio.auth_token = Some(Secret::from(AUTH_TOKEN));
    s.email.file_dir = Some(dir.path().join("outbox"));
    s.sms.file_dir = Some(dir.path().join("outbox"));
    // The production argon2 cost (the defaults); limits out of the way.
    s.pin.max_attempts = 10;
    let l = &mut s.limits;
    l.failures_per_caller = 100;
    l.checks_per_caller = 1_000_000;
    l.checks_per_org = 1_000_000;
    l.checks_per_agent = 1_000_000;
    l.challenges_per_org = 1_000_000;
    l.challenges_per_agent = 1_000_000;
    l.challenges_per_caller = 1_000_000;
    l.sends_per_destination = 1_000_000;
    // Every account number is keyed once per sample: past these budgets
    // both would be refused alike, and the comparison would measure the
    // refusal instead of the known and unknown paths.
    l.account_tries_per_caller = 1_000_000;
    l.account_tries_per_number = 1_000_000;
    l.webhook_per_second = 1_000_000;
    l.webhook_burst = 1_000_000;
    l.webhook_signed_per_second = 1_000_000;
    l.webhook_signed_burst = 1_000_000;
    l.api_per_second = 1_000_000;
    l.api_burst = 1_000_000;
    s.validate()?;
    let server = pingate::start(s, Arc::new(SystemClock), listener).await?;
    let st = Arc::clone(&server.state);
    pingate::service::orgs::save_all(&st, "bench", &parse_import(ORG, ImportFormat::Toml)?).await?;
    let agent = pingate::service::principals::add(&st, "bench", "alice", Role::Agent).await?;
    let d = Driver {
        http: reqwest::Client::new(),
        base,
        agent: agent.expose_secret().to_string(),
    };
    checks(&d, samples).await?;
    webhooks(&d, samples).await?;
    Ok(())
}
