//! Benchmark: signed-webhook latency while the retention purge runs, against
//! its idle value. Seeds a throwaway SQLite instance with DAYS days of
//! history (ended calls, their webhook receipts, delivered messages, quota
//! windows; CALLS per day, back-dated), measures webhook latency from CONNS
//! connections for SECONDS, then again while `retention run` purges what a
//! 90-day policy lets go, and prints both and what was purged.
//!
//!     cargo run --release --example retention_load -- [CONNS] [SECONDS] [CALLS] [DAYS]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pingate::clock::{Clock, SystemClock};
use pingate::config::{Secret, Settings};
use pingate::domain::org::{ImportFormat, parse_import};
use pingate::providers::twilio::signature;
use pingate::store::Store;

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

const DAY_MS: i64 = 86_400_000;

type Failure = Box<dyn std::error::Error>;

/// Back-dated history: `calls` a day for `days` days, ending today.
async fn seed(store: &Store, now: i64, calls: u32, days: i64) -> Result<(), Failure> {
    for day in 0..days {
        let at = now - (days - day) * DAY_MS;
        let mut tx = store.begin(now).await?;
        for i in 0..i64::from(calls) {
            let t = at + i * (DAY_MS / i64::from(calls));
            let id = format!("call_seed{day:03}{i:06}");
            sqlx::query(
                "INSERT INTO calls (id, provider, provider_call_id, from_raw, caller_kind, caller_e164, \
                 to_raw, attestation, org_id, org_source, verification, status, created_at, updated_at, ended_at) \
                 VALUES ($1, 'twilio', $2, '+14155550123', 'e164', '+14155550123', '+18005550100', NULL, \
                 'contoso', 'number', 'pin_required', 'ended', $3, $4, $4)",
            )
            .bind(&id)
            .bind(format!("CAseed{day:03}{i:06}"))
            .bind(t)
            .bind(t + 300_000)
            .execute(tx.conn())
            .await?;
            sqlx::query("INSERT INTO webhook_receipts (provider, key, received_at) VALUES ('twilio', $1, $2)")
                .bind(format!("CAseed{day:03}{i:06}:completed"))
                .bind(t + 300_000)
                .execute(tx.conn())
                .await?;
            if i % 4 == 0 {
                sqlx::query(
                    "INSERT INTO messages (id, kind, channel, org_id, call_id, destination, destination_masked, \
                     subject, status, attempts, next_attempt_at, created_at, updated_at) VALUES \
                     ($1, 'grant_notice', 'email', 'contoso', $2, 'it-admin@contoso.example', 'i***@contoso.example', \
                     'notice', 'sent', 1, $3, $3, $3)",
                )
                .bind(format!("msg_seed{day:03}{i:06}"))
                .bind(&id)
                .bind(t + 1_000)
                .execute(tx.conn())
                .await?;
            }
        }
        for hour in 0..24 {
            sqlx::query("INSERT INTO quota_counters (scope, key, window_start, count) VALUES ('checks_org', 'contoso', $1, 3)")
                .bind(at + hour * 3_600_000)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Signed voice webhooks from `conns` connections until `stop`; latencies.
async fn drive(base: &str, token: &str, conns: usize, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let url = format!("{base}/webhooks/twilio/voice");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conns)
        .build()
        .expect("client");
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (client, url, token, stop) = (
            client.clone(),
            url.clone(),
            token.to_string(),
            Arc::clone(&stop),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let params: Vec<(String, String)> = [
                    ("CallSid", format!("CA{}", uuid::Uuid::new_v4().simple())),
                    ("AccountSid", "AC0123456789abcdef0123456789abcdef".into()),
                    ("From", "+14155550100".into()),
                    ("To", "+18005550100".into()),
                    ("StirVerstat", "TN-Validation-Passed-A".into()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                let sig = signature::sign(&url, &params, token.as_bytes());
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
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("driver"));
    }
    all.sort();
    all
}

fn summary(label: &str, all: &[Duration], elapsed: Duration) -> Duration {
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{label}: {} webhooks in {elapsed:.1?} ({:.0}/s); p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        all.len(),
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        all[all.len() - 1]
    );
    pct(0.99)
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let conns: usize = args.next().map_or(Ok(32), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(10), |a| a.parse())?;
    let calls: u32 = args.next().map_or(Ok(1000), |a| a.parse())?;
    let days: i64 = args.next().map_or(Ok(100), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let token = format!("load-{}", uuid::Uuid::new_v4().simple());
    let mut s = Settings::default();
    s.server.public_base_url = base.clone();
    s.server.data_dir = dir.path().join("data");
    s.database.url =
        Secret::from(format!("sqlite://{}", dir.path().join("pingate.db").display()).as_str());
    s.twilio.auth_token = Some(Secret::from(token.as_str()));
    s.email.file_dir = Some(dir.path().join("outbox"));
    s.sms.file_dir = Some(dir.path().join("outbox"));
    s.limits.webhook_per_second = 1_000_000;
    s.limits.webhook_burst = 1_000_000;
    s.retention.enabled = false; // run by hand below, while measuring
    s.validate()?;
    let server = pingate::start(s, Arc::new(SystemClock), listener).await?;
    let st = Arc::clone(&server.state);
    pingate::service::orgs::save_all(&st, "bench", &parse_import(ORG, ImportFormat::Toml)?).await?;
    let seeded = Instant::now();
    seed(&st.store, SystemClock.now_ms(), calls, days).await?;
    println!(
        "seeded {days} days x {calls} calls (with receipts, messages, quota windows) in {:.1?}; database {} MB",
        seeded.elapsed(),
        st.store.size_bytes().await? / 1_000_000
    );

    let stop = Arc::new(AtomicBool::new(false));
    let idle = tokio::spawn(drive_for(
        base.clone(),
        token.clone(),
        conns,
        Arc::clone(&stop),
    ));
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::SeqCst);
    let (lat, took) = idle.await?;
    let idle_p99 = summary("idle        ", &lat, took);

    let stop = Arc::new(AtomicBool::new(false));
    let during = tokio::spawn(drive_for(
        base.clone(),
        token.clone(),
        conns,
        Arc::clone(&stop),
    ));
    let purge_started = Instant::now();
    let report = pingate::service::retention::run(&st, "bench", false).await?;
    let purge_took = purge_started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let (lat, took) = during.await?;
    let purge_p99 = summary("during purge", &lat, took);
    println!(
        "purge: {} rows in {} batches in {purge_took:.1?}: {}",
        report.total(),
        report.batches,
        report
            .counts
            .iter()
            .map(|(p, n)| format!("{}={n}", p.table()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "p99 during purge / idle p99 = {:.2}",
        purge_p99.as_secs_f64() / idle_p99.as_secs_f64()
    );
    let old: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE ended_at < $1")
        .bind(SystemClock.now_ms() - 90 * DAY_MS)
        .fetch_one(st.store.reader())
        .await?;
    println!("ended calls older than 90 days left: {old}");
    server.shutdown().await?;
    Ok(())
}

async fn drive_for(
    base: String,
    token: String,
    conns: usize,
    stop: Arc<AtomicBool>,
) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let lat = drive(&base, &token, conns, stop).await;
    (lat, started.elapsed())
}
