//! Spawns the real pingate server in-process on port 0 with its own
//! database (a temp SQLite file, or a fresh PostgreSQL database when
//! `PINGATE_TEST_DATABASE_URL` names a server), its own SMTP server and its
//! own Messages API imitation; then speaks to it over HTTP like a client.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use pingate::clock::OffsetClock;
use pingate::config::{CallerIdTrust, EmailTransport, Secret, Settings, SmsTransport};
use pingate::store::principals::Role;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

use super::messages_api::MessagesApi;
pub use super::postgres::{ScratchDatabase, assert_ci_runs_postgres_variants, postgres_url};
use super::postgres::{drop_postgres_db, fresh_postgres_db};
use super::smtp::SmtpServer;
use super::twilio_signer;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
pub const PEPPER: &str = "test-pepper-0123456789abcdef0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Tests that compare response times measure alone: every TestApp holds
/// this lock shared, and one spawned with `Options::alone` holds it
/// exclusively, so no other server in this binary competes for the cores.
static QUIET: LazyLock<Arc<RwLock<()>>> = LazyLock::new(|| Arc::new(RwLock::new(())));

enum Quiet {
    Shared(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
    Alone(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

/// One second past the next top of the hour: quota and lockout windows are
/// aligned to wall-clock hours, so every test starts at the same place in
/// its window and crosses into the next one only when it advances the
/// clock on purpose.
fn just_past_the_next_hour() -> pingate::clock::Millis {
    use pingate::clock::Clock;
    const HOUR: i64 = 3_600_000;
    let now = pingate::clock::SystemClock.now_ms();
    (now / HOUR + 1) * HOUR + 1_000
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub server: Option<pingate::RunningServer>,
    pub smtp: SmtpServer,
    pub sms: MessagesApi,
    pub clock: OffsetClock,
    pub agent_token: String,
    pub reviewer_token: String,
    pub admin_token: String,
    pub engine: Engine,
    pub settings: Settings,
    pub dir: tempfile::TempDir,
    /// (server URL, database name) of a PostgreSQL test database to drop.
    pg_db: Option<(String, String)>,
    _quiet: Quiet,
}

pub struct Options {
    pub trust: CallerIdTrust,
    pub tweak: Box<dyn FnOnce(&mut Settings) + Send>,
    /// Run with no other TestApp alive (for timing comparisons).
    pub alone: bool,
    /// Names of the agent, reviewer and admin the test signs in as (a
    /// database brought from elsewhere may hold the usual ones already).
    pub principals: [&'static str; 3],
}

impl Default for Options {
    fn default() -> Self {
        Options {
            trust: CallerIdTrust::AttestedA,
            tweak: Box::new(|_| {}),
            alone: false,
            principals: ["alice", "rita", "adam"],
        }
    }
}

impl TestApp {
    /// Spawns on the engine, or returns None when that engine is not
    /// available here (PostgreSQL without PINGATE_TEST_DATABASE_URL).
    pub async fn spawn(engine: Engine, test: &str) -> Option<TestApp> {
        Self::spawn_with(engine, test, Options::default()).await
    }

    pub async fn spawn_with(engine: Engine, test: &str, opts: Options) -> Option<TestApp> {
        super::logs::install();
        let quiet = if opts.alone {
            Quiet::Alone(Arc::clone(&QUIET).write_owned().await)
        } else {
            Quiet::Shared(Arc::clone(&QUIET).read_owned().await)
        };
        let db_url = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => {
                let server = postgres_url(test)?;
                let (url, name) = fresh_postgres_db(&server).await;
                Some((url, (server, name)))
            }
        };
        let (db_url, pg_db) = match db_url {
            Some((url, drop)) => (Some(url), Some(drop)),
            None => (None, None),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let smtp = SmtpServer::start().await;
        let sms = MessagesApi::start(ACCOUNT_SID, AUTH_TOKEN).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base = format!("http://127.0.0.1:{port}");

        let mut s = Settings::default();
        s.server.listen = format!("127.0.0.1:{port}");
        s.server.public_base_url = base.clone();
        s.server.data_dir = dir.path().join("data");
        s.database.url = Secret::from(
            db_url
                .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("pingate.db").display()))
                .as_str(),
        );
        s.twilio.account_sid = Some(ACCOUNT_SID.into());
        s.twilio.auth_token = Some(Secret::from(AUTH_TOKEN));
        s.twilio.api_base_url = sms.base_url();
        s.twilio.sms_from = Some("+15005550006".into());
        s.email.transport = EmailTransport::Smtp;
        s.email.smtp_url = Some(Secret::from(smtp.url().as_str()));
        s.email.from = Some("Support <support@pingate.test>".into());
        s.sms.transport = SmsTransport::Twilio;
        s.security.pepper = Some(Secret::from(PEPPER));
        s.security.caller_id_trust = opts.trust;
        // Cheap argon2 keeps the suite fast; the cost is a parameter, not logic.
        s.pin.argon2_memory_kib = 1024;
        s.pin.argon2_iterations = 1;
        // The flood shield is tested on its own; elsewhere it must not
        // interfere with tests that send many requests from 127.0.0.1.
        s.limits.webhook_per_second = 100_000;
        s.limits.webhook_burst = 100_000;
        s.limits.api_per_second = 100_000;
        s.limits.api_burst = 100_000;
        s.limits.webhook_signed_per_second = 100_000;
        s.limits.webhook_signed_burst = 100_000;
        s.limits.auth_failures_per_minute = 100_000;
        // Tests that count refusals in the audit trail see one event each;
        // folding is tested on its own (hardening::floods).
        s.limits.failure_audit_window = pingate::config::HumanDuration(Duration::ZERO);
        // A small pool makes hold-and-wait show at once on PostgreSQL (a
        // request that holds a transaction must never need a second
        // connection, or a busy pool deadlocks on itself), and keeps the
        // parallel suite well under the server's connection limit.
        s.database.max_connections = 2;
        // Readiness must not depend on how full the shared test machine's
        // disk is; the disk check has its own test with a threshold it sets.
        s.database.min_free_disk_percent = 0;
        (opts.tweak)(&mut s);
        s.validate().expect("test settings are valid");

        let clock = OffsetClock::starting_at(just_past_the_next_hour());
        let server = pingate::start(s.clone(), Arc::new(clock.clone()), listener)
            .await
            .expect("server starts");
        let state = Arc::clone(&server.state);
        let token = |name: &'static str, role: Role| {
            let state = Arc::clone(&state);
            async move {
                pingate::service::principals::add(&state, "test", name, role)
                    .await
                    .expect("principal")
                    .expose_secret()
                    .to_string()
            }
        };
        let [agent, reviewer, admin] = opts.principals;
        let agent_token = token(agent, Role::Agent).await;
        let reviewer_token = token(reviewer, Role::Reviewer).await;
        let admin_token = token(admin, Role::Admin).await;
        Some(TestApp {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            server: Some(server),
            smtp,
            sms,
            clock,
            agent_token,
            reviewer_token,
            admin_token,
            engine,
            settings: s,
            dir,
            pg_db,
            _quiet: quiet,
        })
    }

    pub fn state(&self) -> &pingate::app::AppState {
        &self.server.as_ref().expect("running").state
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.expect("clean shutdown");
        }
        if let Some((server, name)) = self.pg_db.take() {
            drop_postgres_db(&server, &name).await;
        }
    }

    /// Takes the database away from the running server: PostgreSQL's is
    /// dropped (its connections cut); SQLite's pools are closed, since an
    /// open file outlives its removal.
    pub async fn lose_the_database(&self) {
        match &self.pg_db {
            Some((server, name)) => drop_postgres_db(server, name).await,
            None => self.state().store.close().await,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Imports the standard test org `contoso` with email and SMS channels.
    pub async fn import_contoso(&self) {
        self.import_toml(CONTOSO).await;
    }

    pub async fn import_toml(&self, toml: &str) {
        let profiles =
            pingate::domain::org::parse_import(toml, pingate::domain::org::ImportFormat::Toml)
                .expect("valid import");
        pingate::service::orgs::save_all(self.state(), "test", &profiles)
            .await
            .expect("import");
    }

    /// Posts a webhook signed by the independent signer.
    pub async fn webhook(&self, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
        let url = self.url(path);
        let signature = twilio_signer::sign_form(&url, params, AUTH_TOKEN);
        self.client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(twilio_signer::form_body(params))
            .send()
            .await
            .expect("webhook request")
    }

    /// An inbound call; returns the TwiML.
    pub async fn call(&self, call_sid: &str, from: &str, attestation: Option<&str>) -> String {
        let mut params = vec![
            ("CallSid", call_sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", from),
            ("To", "+18005550100"),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
        ];
        if let Some(a) = attestation {
            params.push(("StirVerstat", a));
        }
        let resp = self.webhook("/webhooks/twilio/voice", &params).await;
        assert_eq!(resp.status(), StatusCode::OK, "voice webhook");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/xml"),
            "TwiML content type"
        );
        resp.text().await.unwrap()
    }

    pub async fn call_id_for(&self, call_sid: &str) -> String {
        let (status, body) = self
            .get(
                &self.agent_token,
                &format!("/v1/calls?provider_call_id={call_sid}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"][0]["call_id"]
            .as_str()
            .expect("call listed")
            .to_string()
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        split(self.get_raw(token, path).await).await
    }

    /// A GET whose whole answer (headers too) the test reads itself.
    pub async fn get_raw(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        split(self.post_raw(token, path, body).await).await
    }

    /// A JSON POST whose whole answer (headers too) the test reads itself.
    pub async fn post_raw(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// An inbound call; returns its call id.
    pub async fn new_call(&self, from: &str, attestation: Option<&str>) -> String {
        let sid = call_sid();
        self.call(&sid, from, attestation).await;
        self.call_id_for(&sid).await
    }

    /// The agent sets the call's org.
    pub async fn set_org(&self, call_id: &str, org_id: &str) -> (StatusCode, Value) {
        self.post(
            &self.agent_token,
            &format!("/v1/calls/{call_id}/org"),
            serde_json::json!({"org_id": org_id}),
        )
        .await
    }

    /// The agent starts a challenge on `channel`; it must be created.
    /// Returns the challenge id.
    pub async fn challenge(&self, call_id: &str, channel: &str) -> String {
        let (status, ch) = self
            .post(
                &self.agent_token,
                &format!("/v1/calls/{call_id}/challenges"),
                serde_json::json!({"channel": channel}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ch}");
        ch["challenge_id"].as_str().unwrap().to_string()
    }

    /// The agent checks `pin` against a challenge.
    pub async fn check(&self, challenge_id: &str, pin: &str) -> (StatusCode, Value) {
        self.post(
            &self.agent_token,
            &format!("/v1/challenges/{challenge_id}/check"),
            serde_json::json!({"pin": pin}),
        )
        .await
    }

    /// The agent asks for a grant on a call.
    pub async fn grant(&self, call_id: &str) -> (StatusCode, Value) {
        self.post(
            &self.agent_token,
            &format!("/v1/calls/{call_id}/grant"),
            serde_json::json!({}),
        )
        .await
    }

    /// Audit events of `kind` (the first 1000), as the reviewer reads them.
    pub async fn events(&self, kind: &str) -> Vec<Value> {
        let (status, v) = self
            .get(
                &self.reviewer_token,
                &format!("/v1/audit?kind={kind}&limit=1000"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["items"].as_array().unwrap().clone()
    }

    /// A call from an unregistered number of contoso, its org set by the
    /// agent, with a pending email PIN. Returns (call id, challenge id).
    pub async fn pending_challenge(&self, from: &str) -> (String, String) {
        let call_id = self.new_call(from, None).await;
        let (status, _) = self.set_org(&call_id, "contoso").await;
        assert_eq!(status, StatusCode::OK);
        let challenge_id = self.challenge(&call_id, "email").await;
        (call_id, challenge_id)
    }

    /// `pending_challenge` from +14155550123 and its PIN, read off the
    /// `nth` email. Returns (call id, challenge id, PIN).
    pub async fn pending_pin(&self, nth: usize) -> (String, String, String) {
        let (call_id, challenge_id) = self.pending_challenge("+14155550123").await;
        let pin = self.pin_from_email(nth).await;
        (call_id, challenge_id, pin)
    }

    /// The PIN as the caller reads it off the email that arrived.
    pub async fn pin_from_email(&self, n: usize) -> String {
        let mails = self.smtp.wait_for(n, Duration::from_secs(20)).await;
        extract_pin(&mails[n - 1].body_text(), self.settings.pin.length)
    }

    pub async fn pin_from_sms(&self, n: usize) -> String {
        let sms = self.sms.wait_for(n, Duration::from_secs(20)).await;
        extract_pin(&sms[n - 1].body, self.settings.pin.length)
    }
}

pub async fn split(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// A PIN of the default length that is surely not `pin`.
pub fn wrong_pin(pin: &str) -> &'static str {
    if pin == "000000" { "111111" } else { "000000" }
}

/// The first run of exactly `len` digits in a message.
pub fn extract_pin(text: &str, len: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == len {
                return chars[start..i].iter().collect();
            }
        } else {
            i += 1;
        }
    }
    panic!("no {len}-digit code in message: {text}");
}

/// A CallSid in Twilio's format, unique per call.
pub fn call_sid() -> String {
    format!("CA{}", uuid::Uuid::new_v4().simple())
}

pub const CONTOSO: &str = r#"
[[org]]
id = "contoso"
name = "Contoso Ltd"
account_number = "40012345"
registered_numbers = ["+14155550100", "+8613800138000"]
channels = ["email", "sms"]
[org.contacts]
email = "it-admin@contoso.example"
sms = "+14155550199"
"#;

/// Runs an async test body on SQLite, and again on PostgreSQL when one is
/// configured.
#[macro_export]
macro_rules! on_both_engines {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body(
                    $crate::support::app::Engine::Sqlite,
                    concat!(stringify!($name), " (sqlite)"),
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(pingate_test_postgres),
                ignore = "PostgreSQL variant: set PINGATE_TEST_DATABASE_URL to run it"
            )]
            async fn postgres() {
                super::$body(
                    $crate::support::app::Engine::Postgres,
                    concat!(stringify!($name), " (postgres)"),
                )
                .await;
            }
        }
    };
}
