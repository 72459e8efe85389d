//! `kill -9` of the real binary with PINs in the outbox: nothing queued is
//! lost, and after a restart each PIN arrives once.
//!
//! The outbox row is written in the transaction that creates the challenge,
//! so a crash can only find a message `queued` (waiting for its next
//! attempt) or `sending` (claimed under a lease). A restarted worker takes
//! the first at once and the second when its lease has run out.
//!
//! The one window left: a crash after the provider accepted a message and
//! before our commit records it as `sent`. The row is still `sending`, so
//! after the lease it is claimed and sent again: the recipient gets the
//! same PIN twice (harmless, and no provider offers a way to close this
//! without an idempotency key of its own). Emails keep the same Message-ID
//! on every attempt, so a mail system may even fold the copies into one.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

#[path = "api/support/smtp/mod.rs"]
#[allow(dead_code)]
mod smtp;
#[path = "api/support/twilio_signer.rs"]
#[allow(dead_code)]
mod twilio_signer;

use smtp::{ReservedPort, SmtpServer};

const BIN: &str = env!("CARGO_BIN_EXE_pingate");
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "crash-test-auth-token-0123456789ab";
const WAIT: Duration = Duration::from_secs(30);
const SQLITE: &str = "sqlite://data/pingate.db";

const CONTOSO: &str = r#"
[[org]]
id = "contoso"
name = "Contoso Ltd"
account_number = "40012345"
registered_numbers = ["+14155550100"]
channels = ["email", "sms"]
[org.contacts]
email = "it-admin@contoso.example"
sms = "+14155550199"
"#;

/// The address webhooks are signed for. `pingate serve` listens on port 0
/// (a fresh port each start, read from its log): no port is ever freed for
/// a restarted process to bind again, where another could take it.
const PUBLIC_BASE_URL: &str = "http://pingate.test";

/// The binary's working directory, configuration and HTTP client.
struct Deployment {
    dir: tempfile::TempDir,
    /// Where the running server listens (changes with each start).
    base: String,
    client: reqwest::Client,
    agent_token: String,
}

impl Deployment {
    /// Writes the configuration (SQLite, SMTP on `smtp_port`, fast retries
    /// and a short lease), adds an agent and imports contoso.
    fn new(smtp_port: u16) -> Deployment {
        Self::with_extra(smtp_port, SQLITE, "")
    }

    /// The same on `database_url`, with `extra` (further sections)
    /// appended to the file.
    fn with_extra(smtp_port: u16, database_url: &str, extra: &str) -> Deployment {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("pingate.toml"),
            format!(
                r#"
[server]
listen = "127.0.0.1:0"
public_base_url = "{PUBLIC_BASE_URL}"
data_dir = "data"

[log]
format = "json"

[database]
url = "{database_url}"

[twilio]
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"

[email]
transport = "smtp"
smtp_url = "smtp://127.0.0.1:{smtp_port}"
from = "Support <support@pingate.test>"
timeout = "2s"

[pin]
argon2_memory_kib = 1024
argon2_iterations = 1

[delivery]
max_attempts = 50
backoff_base = "100ms"
backoff_cap = "1s"
lease = "3s"
poll_interval = "100ms"

[sms]
timeout = "2s"
{extra}
"#
            ),
        )
        .expect("write config");
        std::fs::write(dir.path().join("contoso.toml"), CONTOSO).expect("write org");
        let mut d = Deployment {
            dir,
            base: String::new(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
            agent_token: String::new(),
        };
        d.run(&["org", "import", "contoso.toml"]);
        d.agent_token = d
            .run(&["agent", "add", "alice", "--role", "agent"])
            .trim()
            .to_string();
        d
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The binary in the deployment's directory, without the caller's
    /// `PINGATE*` variables.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .arg("--config")
            .arg("pingate.toml")
            .args(args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PINGATE") {
                cmd.env_remove(&key);
            }
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run pingate");
        assert!(
            out.status.success(),
            "pingate {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Starts `pingate serve` (its log appended to `serve.log`), points the
    /// client at the address it bound and waits until `/healthz` answers.
    async fn serve(&mut self) -> Server {
        let logged_before = std::fs::read_to_string(self.path("serve.log"))
            .unwrap_or_default()
            .len();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("serve.log"))
            .expect("log file");
        let child = self
            .command(&["serve"])
            .env("PINGATE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn pingate serve");
        let mut server = Server {
            child: Some(child),
            log: self.path("serve.log"),
        };
        for _ in 0..400 {
            if let Some(Ok(Some(status))) = server.child.as_mut().map(Child::try_wait) {
                panic!("pingate serve exited with {status}:\n{}", server.log());
            }
            let Some(addr) = listening_at(&server.log()[logged_before..]) else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            self.base = format!("http://{addr}");
            if let Ok(resp) = self
                .client
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                && resp.status() == StatusCode::OK
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("pingate serve not ready within 20 s:\n{}", server.log());
    }

    /// An inbound call from contoso's registered number (attestation B:
    /// the org is known, a PIN is required), then an email challenge.
    /// Returns (call id, challenge id).
    async fn email_challenge(&self) -> (String, String) {
        let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
        let status = self
            .voice_attested(&sid, "TN-Validation-Passed-B")
            .await
            .expect("voice webhook");
        assert_eq!(status, StatusCode::OK);
        let (_, calls) = self.get(&format!("/v1/calls?provider_call_id={sid}")).await;
        let call_id = calls["items"][0]["call_id"]
            .as_str()
            .expect("call listed")
            .to_string();
        let (status, ch) = self
            .post(
                &format!("/v1/calls/{call_id}/challenges"),
                json!({"channel": "email"}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "accepted whatever the relay does: {ch}"
        );
        (call_id, ch["challenge_id"].as_str().unwrap().to_string())
    }

    /// A signed voice webhook for a new call `sid`; its status.
    /// A signed inbound call from contoso's registered number, attested A.
    async fn voice(&self, sid: &str) -> reqwest::Result<StatusCode> {
        self.voice_attested(sid, "TN-Validation-Passed-A").await
    }

    /// A signed inbound call from contoso's registered number with the
    /// given attestation, signed for `public_base_url` and sent to wherever
    /// the server listens now.
    async fn voice_attested(&self, sid: &str, verstat: &str) -> reqwest::Result<StatusCode> {
        let params = [
            ("CallSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", "+14155550100"),
            ("To", "+18005550100"),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("StirVerstat", verstat),
        ];
        let path = "/webhooks/twilio/voice";
        let signed_for = format!("{PUBLIC_BASE_URL}{path}");
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "x-twilio-signature",
                twilio_signer::sign_form(&signed_for, &params, AUTH_TOKEN),
            )
            .body(twilio_signer::form_body(&params))
            .send()
            .await?;
        Ok(resp.status())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.agent_token)
            .send()
            .await
            .expect("request");
        (resp.status(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.agent_token)
            .json(&body)
            .send()
            .await
            .expect("request");
        (resp.status(), resp.json().await.unwrap_or(Value::Null))
    }

    /// Polls the running server (bounded) until the challenge's PIN
    /// message satisfies `done`; returns it.
    async fn delivery_until(
        &self,
        challenge_id: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (_, ch) = self.get(&format!("/v1/challenges/{challenge_id}")).await;
            let d = ch["delivery"][0].clone();
            if done(&d) {
                return d;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not reached; last seen {ch}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A `pingate serve` process; killed when dropped.
struct Server {
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown path runs, no buffer is flushed.
    fn kill_9(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill -9");
        let status = child.wait().expect("reap");
        assert!(!status.success(), "killed, not exited: {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The address in the server's `pingate listening` log line, once written.
fn listening_at(log: &str) -> Option<String> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "pingate listening")
        .and_then(|v| v["addr"].as_str().map(str::to_string))
}

fn pin_in(text: &str) -> String {
    let digits: String = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code in the mail")
        .to_string();
    digits
}

/// After restart: the PIN arrives once, the message is `sent`, the PIN works.
async fn delivered_once_after_restart(
    d: &Deployment,
    smtp: &SmtpServer,
    challenge_id: &str,
) -> Value {
    let mails = smtp.wait_for(1, WAIT).await;
    let sent = d
        .delivery_until(challenge_id, "sent after the restart", |m| {
            m["status"] == "sent"
        })
        .await;
    // `sent` is final; nothing can send it again.
    assert_eq!(smtp.messages().len(), 1, "the PIN arrives exactly once");
    assert_eq!(mails[0].to, vec!["it-admin@contoso.example".to_string()]);
    let pin = pin_in(&mails[0].body_text());
    let (status, r) = d
        .post(
            &format!("/v1/challenges/{challenge_id}/check"),
            json!({"pin": pin}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved", "{r}");
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_pin_survives_kill_9_and_arrives_once_after_restart() {
    let relay = ReservedPort::new();
    let mut d = Deployment::new(relay.port());
    let server = d.serve().await;
    let (_call, challenge_id) = d.email_challenge().await;
    // SMTP is down: the worker has tried and the PIN waits for a retry.
    let queued = d
        .delivery_until(&challenge_id, "a failed attempt", |m| {
            m["status"] == "queued" && m["attempts"].as_i64() >= Some(1)
        })
        .await;
    assert!(queued["last_error"].as_str().is_some(), "{queued}");

    server.kill_9();
    let smtp = SmtpServer::start_in(relay).expect("SMTP on its port");
    let server = d.serve().await;
    let sent = delivered_once_after_restart(&d, &smtp, &challenge_id).await;
    assert!(
        sent["attempts"].as_i64() > queued["attempts"].as_i64(),
        "{sent}"
    );
    drop(server);
    smtp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_leased_at_kill_9_is_sent_once_after_the_lease_runs_out() {
    // A relay that accepts the connection and never speaks: the worker
    // holds the message (`sending`) while it waits for the greeting.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let smtp_port = hang.local_addr().unwrap().port();
    let mut d = Deployment::new(smtp_port);
    let server = d.serve().await;
    let (_call, challenge_id) = d.email_challenge().await;
    let (held, _) = tokio::time::timeout(WAIT, hang.accept())
        .await
        .expect("the worker connects")
        .expect("accept");
    // The claim commits before the send starts.
    let (_, ch) = d.get(&format!("/v1/challenges/{challenge_id}")).await;
    assert_eq!(ch["delivery"][0]["status"], "sending", "{ch}");
    assert_eq!(ch["delivery"][0]["attempts"], 1, "{ch}");

    server.kill_9();
    drop(held);
    // The relay starts speaking on the same listener.
    let smtp = SmtpServer::serve_on(hang).expect("SMTP on its port");
    let server = d.serve().await;
    let sent = delivered_once_after_restart(&d, &smtp, &challenge_id).await;
    assert_eq!(
        sent["attempts"], 2,
        "claimed again once the lease ran out: {sent}"
    );
    drop(server);
    smtp.shutdown().await;
}

/// Sends distinct voice webhooks from `conns` connections until the server
/// is gone; every CallSid answered 200 lands in `answered`.
fn drive_webhooks(
    d: &std::sync::Arc<Deployment>,
    conns: usize,
    answered: &std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..conns)
        .map(|_| {
            let (d, answered) = (std::sync::Arc::clone(d), std::sync::Arc::clone(answered));
            tokio::spawn(async move {
                loop {
                    let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
                    match d.voice(&sid).await {
                        Ok(StatusCode::OK) => answered.lock().expect("lock").push(sid),
                        Ok(other) => panic!("voice webhook answered {other}"),
                        Err(_) => return, // the server was killed
                    }
                }
            })
        })
        .collect()
}

const NO_LIMITS: &str =
    "[limits]\nwebhook_signed_per_second = 1000000\nwebhook_signed_burst = 1000000\n";

/// Webhooks committed in groups: a `kill -9` under load loses none that
/// was answered 200. After the restart each one's call is stored with its
/// `call_received` event, and the chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_webhook_answered_before_kill_9_is_stored_with_its_event() {
    let relay = ReservedPort::new();
    let d = Deployment::with_extra(relay.port(), SQLITE, NO_LIMITS);
    let db = format!("sqlite://{}?mode=ro", d.path("data/pingate.db").display());
    kill_9_under_webhooks(d, &db).await;
}

/// The same on PostgreSQL, in a database of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pingate_test_postgres),
    ignore = "PostgreSQL variant: set PINGATE_TEST_DATABASE_URL to run it"
)]
async fn every_webhook_answered_before_kill_9_is_stored_with_its_event_on_postgres() {
    use sqlx::Connection;
    let server = std::env::var("PINGATE_TEST_DATABASE_URL").expect("PINGATE_TEST_DATABASE_URL");
    let name = format!("pingate_crash_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let url = format!(
        "{}/{name}",
        server.rsplit_once('/').expect("a database path").0
    );
    let shared = format!(
        "[security]\npepper = \"{}\"\n[audit]\nsigning_key = \"{}\"\n",
        "ab".repeat(32),
        "c2lnbmluZy1rZXktZm9yLXRoZS1jcmFzaC10ZXN0ISE="
    );
    let relay = ReservedPort::new();
    let d = Deployment::with_extra(relay.port(), &url, &format!("{NO_LIMITS}{shared}"));
    kill_9_under_webhooks(d, &url).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop database");
}

async fn kill_9_under_webhooks(mut d: Deployment, db_url: &str) {
    let server = d.serve().await;
    let d = std::sync::Arc::new(d);
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let drivers = drive_webhooks(&d, 16, &answered);
    let deadline = tokio::time::Instant::now() + WAIT;
    while answered.lock().expect("lock").len() < 300 {
        assert!(tokio::time::Instant::now() < deadline, "webhooks too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Killed with webhooks in flight, some in an uncommitted group.
    server.kill_9();
    for driver in drivers {
        driver.await.expect("driver");
    }
    let answered = answered.lock().expect("lock").clone();

    let mut d = std::sync::Arc::into_inner(d).expect("the drivers have ended");
    let server = d.serve().await;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(db_url)
        .await
        .expect("open the database");
    let stored: std::collections::HashSet<String> =
        sqlx::query_scalar("SELECT provider_call_id FROM calls")
            .fetch_all(&db)
            .await
            .expect("calls")
            .into_iter()
            .collect();
    let details: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_events WHERE kind = 'call_received'")
            .fetch_all(&db)
            .await
            .expect("events");
    let audited: std::collections::HashSet<String> = details
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).expect("detail")["provider_call_id"].to_string())
        .map(|s| s.trim_matches('"').to_string())
        .collect();
    for sid in &answered {
        assert!(
            stored.contains(sid),
            "{sid} was answered 200 but is not stored"
        );
        assert!(
            audited.contains(sid),
            "{sid} was answered 200 but not audited"
        );
    }
    assert_eq!(
        stored.len(),
        audited.len(),
        "every stored call has its event"
    );
    db.close().await;
    drop(server);
    d.run(&["audit", "verify"]);
}
