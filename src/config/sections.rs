//! The settings' sections: one struct (or enum) per `[section]` of the
//! configuration file, with its defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{HumanDuration, Secret};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: String,
    pub public_base_url: String,
    pub data_dir: PathBuf,
    pub max_body_bytes: usize,
    pub request_timeout: HumanDuration,
    /// Reverse proxies whose `X-Forwarded-For` is believed: the client is
    /// the right-most hop not in these networks. Empty: the TCP peer.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub max_connections: u32,
    /// `/readyz` fails when the database's file system has less free space
    /// than this share (SQLite only; 0 turns the check off).
    pub min_free_disk_percent: u8,
    /// Most writes committed in one transaction by the single writer
    /// (1: every write its own transaction).
    pub group_commit_max: u32,
    /// How long the writer waits for another write once none is queued
    /// (0ms: a lone write is never delayed).
    pub group_commit_wait: HumanDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwilioSettings {
    pub account_sid: Option<String>,
    pub auth_token: Option<Secret>,
    pub api_base_url: String,
    pub sms_from: Option<String>,
    /// Shared keys for `X-Twilio-Webhooks-Signature-Settings` (HMAC-SHA256),
    /// by key id.
    pub webhook_keys: BTreeMap<String, Secret>,
    /// TaskRouter workflow for support lines: calls are enqueued as tasks
    /// carrying their line, severity and priority (plain queues without it).
    pub workflow_sid: Option<String>,
}

/// Telnyx (TeXML calls, Messaging API v2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelnyxSettings {
    /// The account's Ed25519 public key (base64), which checks
    /// `telnyx-signature-ed25519`; without it the webhooks answer 503.
    pub public_key: Option<String>,
    /// The API key (bearer) for `POST /v2/messages`.
    pub api_key: Option<Secret>,
    pub api_base_url: String,
    pub sms_from: Option<String>,
}

/// Plivo (Plivo XML calls, the Message API).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlivoSettings {
    /// The account's Auth ID: the Message API's user name and path.
    pub auth_id: Option<String>,
    /// The Auth Token: it checks `X-Plivo-Signature-V3` (without it the
    /// webhooks answer 503) and is the Message API's password.
    pub auth_token: Option<Secret>,
    pub api_base_url: String,
    pub sms_from: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoiceRoute {
    Enqueue,
    Dial,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceSettings {
    pub greeting: String,
    pub route: VoiceRoute,
    pub queue: String,
    pub dial_number: Option<String>,
    pub ivr_enabled: bool,
    pub ivr_prompt: String,
    pub ivr_attempts: u32,
    pub language: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTransport {
    Smtp,
    File,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSettings {
    pub transport: EmailTransport,
    /// May hold credentials (`smtps://user:pass@host`), hence secret.
    pub smtp_url: Option<Secret>,
    pub from: Option<String>,
    /// Default: `server.data_dir`/outbox.
    pub file_dir: Option<PathBuf>,
    pub timeout: HumanDuration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsTransport {
    Twilio,
    Telnyx,
    Plivo,
    File,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSettings {
    pub transport: SmsTransport,
    /// Default: `server.data_dir`/outbox.
    pub file_dir: Option<PathBuf>,
    pub timeout: HumanDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PinSettings {
    pub length: usize,
    pub ttl: HumanDuration,
    pub max_attempts: u32,
    pub max_sends: u32,
    /// argon2 memory in KiB; the OWASP minimum by default. Lower only in tests.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// How many argon2 computations may run at once: the number of
    /// dedicated hashing threads.
    pub hash_concurrency: usize,
    /// The hashing threads' `nice` value (0 to 19): higher yields the CPU
    /// to webhooks sooner. 0 keeps the process's priority.
    pub hash_nice: i32,
    /// PIN hashes waiting for or running on that pool, at most: past it a
    /// check or a new challenge answers 503 with Retry-After instead of
    /// queueing without bound.
    pub hash_queue: usize,
    /// PIN hashes one principal may have waiting or running at once: one
    /// agent cannot queue work ahead of everyone else's checks.
    pub hash_per_principal: usize,
    /// How often challenges that expired untouched are recorded as expired
    /// and their sealed PIN wiped.
    pub sweep_interval: HumanDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrantSettings {
    pub ttl: HumanDuration,
}

/// Defined by the rule that reads it; configured here.
pub use crate::domain::verification::CallerIdTrust;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecuritySettings {
    pub pepper: Option<Secret>,
    pub caller_id_trust: CallerIdTrust,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// The ed25519 seed itself (base64 of 32 bytes), instead of a file:
    /// how several instances are given the same key from a secret store.
    pub signing_key: Option<Secret>,
    pub signing_key_file: Option<PathBuf>,
    /// The name in signed checkpoints; reviewers pin it with the public key.
    pub origin: String,
    /// Sign a checkpoint once this many events follow the latest one.
    pub checkpoint_every_events: u64,
    /// ... or once this long has passed since it, if any event followed.
    pub checkpoint_interval: HumanDuration,
}

/// The outbox worker: retries, leases, fallback, and the name messages sign with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// Tries before a message is dead-lettered.
    pub max_attempts: u32,
    /// Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(n-1))].
    pub backoff_base: HumanDuration,
    pub backoff_cap: HumanDuration,
    /// How long a worker owns a claimed message; a worker that dies leaves
    /// it to be claimed again after this.
    pub lease: HumanDuration,
    /// How often an idle worker looks for due messages (it is also woken
    /// at once when a message is queued by this instance).
    pub poll_interval: HumanDuration,
    /// Send the same PIN on the org's other registered channel when a PIN
    /// message fails for good or is reported undelivered.
    pub auto_fallback: bool,
    /// How messages sign off ("Contoso support" reads better than "pingate").
    pub support_name: String,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_base: HumanDuration(Duration::from_secs(2)),
            backoff_cap: HumanDuration(Duration::from_secs(300)),
            lease: HumanDuration(Duration::from_secs(60)),
            poll_interval: HumanDuration(Duration::from_secs(1)),
            auto_fallback: false,
            support_name: "Support".into(),
        }
    }
}

/// Abuse limits. The database-backed quotas hold across instances; the
/// per-second ones (governor) guard each instance in memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSettings {
    /// The window every database quota counts in.
    pub window: HumanDuration,
    /// Challenges per (org, caller number) per window.
    pub challenges_per_caller: u32,
    pub challenges_per_org: u32,
    pub challenges_per_agent: u32,
    /// Distinct orgs one agent may challenge or check per window.
    pub orgs_per_agent: u32,
    /// Messages (PINs, resends) to one destination per window.
    pub sends_per_destination: u32,
    /// SMS sent by the whole deployment per window.
    pub sms_global: u32,
    /// ISO 3166 regions SMS may go to; `["*"]` allows all.
    pub sms_countries: Vec<String>,
    /// PIN checks one agent may submit per window.
    pub checks_per_agent: u32,
    /// PIN checks (right or wrong) per (org, caller number) per window.
    pub checks_per_caller: u32,
    /// PIN checks on one org's challenges per window.
    pub checks_per_org: u32,
    /// Wrong PINs per (org, caller number) per window before PIN
    /// verification locks for that caller.
    pub failures_per_caller: u32,
    /// How long such a lockout lasts (an admin can reset it sooner).
    pub lockout: HumanDuration,
    /// Wrong PINs per org per window from callers with a number (NIST SP
    /// 800-63B: at most 100). Reaching it refuses new PIN challenges for
    /// the org for one window and alerts its contacts and `alert_emails`.
    /// Withheld callers never spend it: they share a caller budget of
    /// their own per org (`failures_per_caller`, keyed `withheld`).
    pub failures_per_org: u32,
    /// Administrators told when an org reaches its failure ceiling.
    pub alert_emails: Vec<String>,
    /// The longest admin override of an org's spent PIN budgets.
    pub override_max: HumanDuration,
    /// IVR account-number attempts per caller number per window, across
    /// calls; by all withheld callers together; naming one account number.
    pub account_tries_per_caller: u32,
    pub account_tries_withheld: u32,
    pub account_tries_per_number: u32,
    /// Unsigned or badly signed webhook requests per second per client
    /// address, and burst.
    pub webhook_per_second: u32,
    pub webhook_burst: u32,
    /// Webhook requests whose signature verifies, per second per client
    /// address, and burst: a budget unsigned junk cannot spend.
    pub webhook_signed_per_second: u32,
    pub webhook_signed_burst: u32,
    /// API requests per second per authenticated principal, and burst.
    pub api_per_second: u32,
    pub api_burst: u32,
    /// Failed authentications (no, unknown or disabled bearer token) per
    /// minute per client address; past it the address is refused before
    /// any token lookup until the budget refills.
    pub auth_failures_per_minute: u32,
    /// Repeated authentication and webhook-signature failures from one
    /// address are folded into one audit event with a count per window;
    /// "0s" audits each one.
    pub failure_audit_window: HumanDuration,
}

impl Default for LimitsSettings {
    fn default() -> Self {
        Self {
            window: HumanDuration(Duration::from_secs(3600)),
            challenges_per_caller: 5,
            challenges_per_org: 30,
            challenges_per_agent: 60,
            orgs_per_agent: 20,
            sends_per_destination: 10,
            sms_global: 500,
            sms_countries: [
                "US", "CA", "GB", "IE", "DE", "FR", "NL", "BE", "ES", "IT", "SE", "AU", "NZ",
            ]
            .map(String::from)
            .to_vec(),
            checks_per_agent: 300,
            checks_per_caller: 30,
            checks_per_org: 300,
            failures_per_caller: 10,
            lockout: HumanDuration(Duration::from_secs(3600)),
            failures_per_org: 100,
            alert_emails: Vec::new(),
            override_max: HumanDuration(Duration::from_secs(3600)),
            account_tries_per_caller: 10,
            account_tries_withheld: 30,
            account_tries_per_number: 20,
            webhook_per_second: 50,
            webhook_burst: 200,
            webhook_signed_per_second: 200,
            webhook_signed_burst: 400,
            api_per_second: 20,
            api_burst: 100,
            auth_failures_per_minute: 10,
            failure_audit_window: HumanDuration(Duration::from_secs(60)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_base_url: "http://127.0.0.1:8080".into(),
            data_dir: "data".into(),
            max_body_bytes: 64 * 1024,
            request_timeout: HumanDuration(Duration::from_secs(15)),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::from("sqlite://data/pingate.db"),
            max_connections: 8,
            min_free_disk_percent: 5,
            group_commit_max: 64,
            group_commit_wait: HumanDuration(Duration::ZERO),
        }
    }
}

impl Default for TwilioSettings {
    fn default() -> Self {
        Self {
            account_sid: None,
            auth_token: None,
            api_base_url: "https://api.twilio.com".into(),
            sms_from: None,
            webhook_keys: BTreeMap::new(),
            workflow_sid: None,
        }
    }
}

impl Default for TelnyxSettings {
    fn default() -> Self {
        Self {
            public_key: None,
            api_key: None,
            api_base_url: "https://api.telnyx.com".into(),
            sms_from: None,
        }
    }
}

impl Default for PlivoSettings {
    fn default() -> Self {
        Self {
            auth_id: None,
            auth_token: None,
            api_base_url: "https://api.plivo.com".into(),
            sms_from: None,
        }
    }
}

impl Default for VoiceSettings {
    fn default() -> Self {
        Self {
            greeting: "Thank you for calling support. Please hold for the next agent.".into(),
            route: VoiceRoute::Enqueue,
            queue: "support".into(),
            dial_number: None,
            ivr_enabled: true,
            ivr_prompt:
                "Please enter your organisation's account number, then press the pound key.".into(),
            ivr_attempts: 3,
            language: "en-US".into(),
        }
    }
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            transport: EmailTransport::File,
            smtp_url: None,
            from: None,
            file_dir: None,
            timeout: HumanDuration(Duration::from_secs(10)),
        }
    }
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            transport: SmsTransport::File,
            file_dir: None,
            timeout: HumanDuration(Duration::from_secs(10)),
        }
    }
}

impl Default for PinSettings {
    fn default() -> Self {
        Self {
            length: 6,
            ttl: HumanDuration(Duration::from_secs(600)),
            max_attempts: 5,
            max_sends: 3,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            hash_concurrency: 2,
            hash_nice: 10,
            hash_queue: 32,
            hash_per_principal: 2,
            sweep_interval: HumanDuration(Duration::from_secs(5)),
        }
    }
}

impl Default for GrantSettings {
    fn default() -> Self {
        Self {
            ttl: HumanDuration(Duration::from_secs(30 * 60)),
        }
    }
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            pepper: None,
            caller_id_trust: CallerIdTrust::AttestedA,
        }
    }
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            signing_key: None,
            signing_key_file: None,
            origin: "pingate".into(),
            checkpoint_every_events: 1000,
            checkpoint_interval: HumanDuration(Duration::from_secs(300)),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}

/// The agent console at `/console`: its sessions and sign-in limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// A session unused for this long ends.
    pub idle_timeout: HumanDuration,
    /// A session ends this long after sign-in, however busy.
    pub absolute_timeout: HumanDuration,
    /// Sign-in attempts one client address may make per `sign_in_window`
    /// (counted in the database, so across instances).
    pub sign_in_attempts: u32,
    pub sign_in_window: HumanDuration,
    /// How often a live page (server-sent events) looks for changes in
    /// the database; changes made on any instance show within about this.
    pub live_poll: HumanDuration,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            idle_timeout: HumanDuration(Duration::from_secs(30 * 60)),
            absolute_timeout: HumanDuration(Duration::from_secs(12 * 3600)),
            sign_in_attempts: 10,
            sign_in_window: HumanDuration(Duration::from_secs(15 * 60)),
            live_poll: HumanDuration(Duration::from_millis(500)),
        }
    }
}
