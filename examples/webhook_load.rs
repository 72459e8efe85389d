//! Load driver for the hot path: signed Twilio voice webhooks, each a new
//! call that pingate stores with its audit event before answering TwiML.
//! Starts a throwaway server in-process (SQLite in a temp directory, flood
//! shield out of the way) and drives it from CONNS concurrent connections
//! for SECONDS, then prints throughput and latency percentiles. Client and
//! server share the machine, as in DESIGN's reference measurement.
//!
//!     cargo run --release --example webhook_load -- [CONNS] [SECONDS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use pingate::clock::SystemClock;
use pingate::config::{Secret, Settings};
use pingate::domain::org::{ImportFormat, parse_import};
use pingate::providers::twilio::signature;

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let conns: usize = args.next().map_or(Ok(32), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(10), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    // A fresh token per run, like `pingate demo`: nothing to keep secret.
    let auth_token = format!("load-{}", uuid::Uuid::new_v4().simple());
    let mut s = Settings::default();
    s.server.public_base_url = base.clone();
    s.server.data_dir = dir.path().join("data");
    s.database.url =
        Secret::from(format!("sqlite://{}", dir.path().join("pingate.db").display()).as_str());
    s.twilio.auth_token = Some(Secret::from(auth_token.as_str()));
    s.email.file_dir = Some(dir.path().join("outbox"));
    s.sms.file_dir = Some(dir.path().join("outbox"));
    s.limits.webhook_per_second = 1_000_000;
    s.limits.webhook_burst = 1_000_000;
    s.validate()?;
    let server = pingate::start(s, Arc::new(SystemClock), listener).await?;
    pingate::service::orgs::save_all(
        &server.state,
        "load",
        &parse_import(ORG, ImportFormat::Toml)?,
    )
    .await?;

    let url = format!("{base}/webhooks/twilio/voice");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conns)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for conn in 0..conns {
        let (client, url, auth_token) = (client.clone(), url.clone(), auth_token.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                // Every third caller is the registered number: both lookups.
                let from = if n.is_multiple_of(3) {
                    "+14155550100".to_string()
                } else {
                    format!("+1415{:07}", (conn as u64 * 1_000_003 + n) % 10_000_000)
                };
                let params: Vec<(String, String)> = [
                    ("CallSid", format!("CA{}", uuid::Uuid::new_v4().simple())),
                    ("AccountSid", "AC0123456789abcdef0123456789abcdef".into()),
                    ("From", from),
                    ("To", "+18005550100".into()),
                    ("CallStatus", "ringing".into()),
                    ("Direction", "inbound".into()),
                    ("StirVerstat", "TN-Validation-Passed-A".into()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                let sig = signature::sign(&url, &params, auth_token.as_bytes());
                let started = Instant::now();
                let resp = client
                    .post(&url)
                    .header("x-twilio-signature", sig)
                    .form(&params)
                    .send()
                    .await
                    .expect("request");
                let status = resp.status();
                resp.bytes().await.expect("body");
                latencies.push(started.elapsed());
                assert!(status.is_success(), "webhook answered {status}");
            }
            latencies
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls")
        .fetch_one(server.state.store.reader())
        .await?;
    println!(
        "{} signed voice webhooks over {conns} connections in {:.1?}: {:.0}/s; p50 {:.2?}, p99 {:.2?}, max {:.2?}; {stored} calls stored",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        all[all.len() - 1],
    );
    server.shutdown().await?;
    Ok(())
}
