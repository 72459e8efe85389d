//! Typed settings: loaded from `config/pingate.toml` (every key documented
//! there), overridden by `PINGATE__SECTION__KEY` environment variables, and
//! validated once so the rest of the program holds only sound values.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Json, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The file read when no `--config` is given; a missing default file is
/// fine (defaults apply), a missing explicit one is an error.
pub const DEFAULT_CONFIG_PATH: &str = "config/pingate.toml";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub twilio: TwilioSettings,
    pub voice: VoiceSettings,
    pub email: EmailSettings,
    pub sms: SmsSettings,
    pub pin: PinSettings,
    pub grant: GrantSettings,
    pub security: SecuritySettings,
    pub audit: AuditSettings,
    pub limits: LimitsSettings,
    pub delivery: DeliverySettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: String,
    pub public_base_url: String,
    pub data_dir: PathBuf,
    pub max_body_bytes: usize,
    pub request_timeout: HumanDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub max_connections: u32,
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
    /// How many argon2 computations may run at once (the blocking pool bound).
    pub hash_concurrency: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrantSettings {
    pub ttl: HumanDuration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerIdTrust {
    /// Only `TN-Validation-Passed-A` (full STIR/SHAKEN attestation).
    AttestedA,
    /// The registered number alone, whatever the carrier says.
    Any,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecuritySettings {
    pub pepper: Option<Secret>,
    pub caller_id_trust: CallerIdTrust,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
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
    /// Wrong PINs per (org, caller number) per window before PIN
    /// verification locks for that caller.
    pub failures_per_caller: u32,
    /// How long such a lockout lasts (an admin can reset it sooner).
    pub lockout: HumanDuration,
    /// Webhook requests per second per client address, and burst.
    pub webhook_per_second: u32,
    pub webhook_burst: u32,
    /// API requests per second per bearer token, and burst.
    pub api_per_second: u32,
    pub api_burst: u32,
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
            failures_per_caller: 10,
            lockout: HumanDuration(Duration::from_secs(3600)),
            webhook_per_second: 50,
            webhook_burst: 200,
            api_per_second: 20,
            api_burst: 100,
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
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::from("sqlite://data/pingate.db"),
            max_connections: 8,
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

/// A secret read from configuration. Accepts any scalar (an environment
/// variable like `PINGATE__TWILIO__AUTH_TOKEN=12345` arrives as a number).
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(SecretString::from(s))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Only the shape of a configuration is ever serialised (to know its
/// keys), never a secret.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            S(String),
            I(i64),
            U(u64),
        }
        Ok(match Scalar::deserialize(d)? {
            Scalar::S(s) => Secret(s.into()),
            Scalar::I(i) => Secret(i.to_string().into()),
            Scalar::U(u) => Secret(u.to_string().into()),
        })
    }
}

/// A duration written as `500ms`, `30s`, `10m`, `2h` or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{s:?} is not a duration (use e.g. 30s, 10m, 2h)"))?;
        let d = match unit.trim() {
            "ms" => Duration::from_millis(n),
            "" | "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            other => {
                return Err(format!(
                    "{s:?} has unknown unit {other:?} (use ms, s, m, h or d)"
                ));
            }
        };
        Ok(HumanDuration(d))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", self.0.as_millis()))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            U(u64),
        }
        match Raw::deserialize(d)? {
            Raw::U(n) => Ok(HumanDuration(Duration::from_secs(n))),
            Raw::S(s) => HumanDuration::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

/// What is wrong with a configuration, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("{0}")]
    Parse(String),
    #[error("configuration is invalid:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

impl Settings {
    /// Loads the file (TOML, or JSON by extension) and the environment.
    /// `explicit` says whether the path was named by the operator.
    pub fn load(path: &Path, explicit: bool) -> Result<Settings, ConfigError> {
        if explicit && !path.exists() {
            return Err(ConfigError::Missing(path.to_path_buf()));
        }
        let mut figment = Figment::new();
        if path.exists() {
            figment = if path.extension().is_some_and(|e| e == "json") {
                figment.merge(Json::file(path))
            } else {
                figment.merge(Toml::file(path))
            };
        }
        let figment = figment.merge(Env::prefixed("PINGATE__").split("__"));
        Self::from_figment(figment)
    }

    /// Extracts and validates. Unknown keys are reported with every other
    /// problem (not just the first), then left out so the values that are
    /// there can still be checked.
    pub fn from_figment(figment: Figment) -> Result<Settings, ConfigError> {
        let raw: serde_json::Value = figment
            .extract()
            .map_err(|e| ConfigError::Parse(figment_errors(e).join("\n")))?;
        let known = serde_json::to_value(Settings::default()).unwrap_or_default();
        let mut problems = Vec::new();
        let cleaned = strip_unknown(raw, &known, "", &mut problems);
        let settings = match Figment::from(figment::providers::Serialized::defaults(cleaned))
            .extract::<Settings>()
        {
            Ok(s) => Some(s),
            Err(e) => {
                problems.extend(figment_errors(e));
                None
            }
        };
        if let Some(s) = &settings
            && let Err(ConfigError::Invalid(more)) = s.validate()
        {
            problems.extend(more);
        }
        match settings {
            Some(s) if problems.is_empty() => Ok(s),
            _ => Err(ConfigError::Invalid(problems)),
        }
    }

    /// Every problem at once, so an operator fixes the file in one pass.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if self.server.listen.parse::<SocketAddr>().is_err() {
            problems.push(format!(
                "server.listen: {:?} is not an address like 127.0.0.1:8080",
                self.server.listen
            ));
        }
        let base = self.server.public_base_url.as_str();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.ends_with('/') {
            problems.push(format!(
                "server.public_base_url: {base:?} must start with http:// or https:// and have no trailing slash"
            ));
        }
        if self.server.max_body_bytes < 1024 {
            problems.push("server.max_body_bytes: must be at least 1024".into());
        }
        let db = self.database.url.expose();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            problems.push("database.url: must start with sqlite:// or postgres://".into());
        }
        if self.database.max_connections == 0 {
            problems.push("database.max_connections: must be at least 1".into());
        }
        if !(6..=10).contains(&self.pin.length) {
            problems.push(format!("pin.length: {} is outside 6..=10", self.pin.length));
        }
        if self.pin.ttl.0 < Duration::from_secs(30) || self.pin.ttl.0 > Duration::from_secs(3600) {
            problems.push("pin.ttl: must be between 30s and 1h".into());
        }
        if !(1..=10).contains(&self.pin.max_attempts) {
            problems.push("pin.max_attempts: must be between 1 and 10".into());
        }
        if !(1..=10).contains(&self.pin.max_sends) {
            problems.push("pin.max_sends: must be between 1 and 10".into());
        }
        if self.pin.argon2_memory_kib < 8 || self.pin.argon2_iterations == 0 {
            problems.push("pin.argon2_memory_kib / argon2_iterations: too small".into());
        }
        if self.pin.hash_concurrency == 0 {
            problems.push("pin.hash_concurrency: must be at least 1".into());
        }
        if self.grant.ttl.0 < Duration::from_secs(60)
            || self.grant.ttl.0 > Duration::from_secs(24 * 3600)
        {
            problems.push("grant.ttl: must be between 1m and 24h".into());
        }
        if let Some(pepper) = &self.security.pepper
            && pepper.expose().len() < 32
        {
            problems.push("security.pepper: must be at least 32 characters".into());
        }
        if self.email.transport == EmailTransport::Smtp {
            match &self.email.smtp_url {
                None => {
                    problems.push("email.smtp_url: required when email.transport = \"smtp\"".into())
                }
                Some(u)
                    if !(u.expose().starts_with("smtp://")
                        || u.expose().starts_with("smtps://")) =>
                {
                    problems.push("email.smtp_url: must start with smtp:// or smtps://".into())
                }
                Some(_) => {}
            }
            if self.email.from.is_none() {
                problems.push("email.from: required when email.transport = \"smtp\"".into());
            }
        }
        if self.sms.transport == SmsTransport::Twilio {
            if self.twilio.account_sid.is_none() {
                problems
                    .push("twilio.account_sid: required when sms.transport = \"twilio\"".into());
            }
            if self.twilio.auth_token.is_none() {
                problems.push("twilio.auth_token: required when sms.transport = \"twilio\"".into());
            }
            if self.twilio.sms_from.is_none() {
                problems.push("twilio.sms_from: required when sms.transport = \"twilio\"".into());
            }
        }
        if let Some(sid) = &self.twilio.account_sid
            && !(sid.len() == 34
                && sid.starts_with("AC")
                && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            problems.push("twilio.account_sid: must be AC followed by 32 hex digits".into());
        }
        let api = self.twilio.api_base_url.as_str();
        if !(api.starts_with("http://") || api.starts_with("https://")) {
            problems.push(
                "twilio.api_base_url: must start with https:// (or http:// for a local imitation)"
                    .into(),
            );
        }
        if self.voice.route == VoiceRoute::Dial && self.voice.dial_number.is_none() {
            problems.push("voice.dial_number: required when voice.route = \"dial\"".into());
        }
        if self.voice.queue.trim().is_empty() {
            problems.push("voice.queue: must not be empty".into());
        }
        if !(1..=10).contains(&self.voice.ivr_attempts) {
            problems.push("voice.ivr_attempts: must be between 1 and 10".into());
        }
        if self.audit.origin.trim().is_empty() || self.audit.origin.contains(char::is_whitespace) {
            problems.push("audit.origin: must be a non-empty name without spaces".into());
        }
        if self.audit.checkpoint_every_events == 0 {
            problems.push("audit.checkpoint_every_events: must be at least 1".into());
        }
        if self.audit.checkpoint_interval.0 < Duration::from_secs(1) {
            problems.push("audit.checkpoint_interval: must be at least 1s".into());
        }
        let d = &self.delivery;
        if !(1..=50).contains(&d.max_attempts) {
            problems.push("delivery.max_attempts: must be between 1 and 50".into());
        }
        if d.backoff_base.0.is_zero() || d.backoff_cap.0 < d.backoff_base.0 {
            problems.push(
                "delivery.backoff_base / backoff_cap: base must be > 0 and cap >= base".into(),
            );
        }
        if d.lease.0 < Duration::from_secs(1) || d.poll_interval.0 < Duration::from_millis(10) {
            problems.push("delivery.lease / poll_interval: too small".into());
        }
        if d.lease.0 <= self.email.timeout.0 || d.lease.0 <= self.sms.timeout.0 {
            problems.push(
                "delivery.lease: must be longer than email.timeout and sms.timeout (a send that outlasts its lease can be taken over and sent twice)".into(),
            );
        }
        if d.support_name.trim().is_empty() {
            problems.push("delivery.support_name: must not be empty".into());
        }
        let l = &self.limits;
        if l.window.0 < Duration::from_secs(60) {
            problems.push("limits.window: must be at least 1m".into());
        }
        for (name, v) in [
            ("challenges_per_caller", l.challenges_per_caller),
            ("challenges_per_org", l.challenges_per_org),
            ("challenges_per_agent", l.challenges_per_agent),
            ("orgs_per_agent", l.orgs_per_agent),
            ("sends_per_destination", l.sends_per_destination),
            ("sms_global", l.sms_global),
            ("checks_per_agent", l.checks_per_agent),
            ("failures_per_caller", l.failures_per_caller),
            ("webhook_per_second", l.webhook_per_second),
            ("webhook_burst", l.webhook_burst),
            ("api_per_second", l.api_per_second),
            ("api_burst", l.api_burst),
        ] {
            if v == 0 {
                problems.push(format!("limits.{name}: must be at least 1"));
            }
        }
        if l.failures_per_caller > 100 {
            problems.push("limits.failures_per_caller: NIST SP 800-63B allows at most 100".into());
        }
        for c in &l.sms_countries {
            if c != "*" && !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())) {
                problems.push(format!(
                    "limits.sms_countries: {c:?} is not an ISO 3166 code like \"US\" (or \"*\")"
                ));
            }
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            problems.push(format!(
                "log.level: {:?} is not a tracing filter",
                self.log.level
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    pub fn listen_addr(&self) -> SocketAddr {
        // validate() guarantees this parses.
        self.server
            .listen
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }

    /// Where the email file transport writes.
    pub fn email_file_dir(&self) -> PathBuf {
        self.email
            .file_dir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("outbox"))
    }

    /// Where the SMS file transport writes.
    pub fn sms_file_dir(&self) -> PathBuf {
        self.sms
            .file_dir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("outbox"))
    }

    pub fn pepper_path(&self) -> PathBuf {
        self.server.data_dir.join("pepper")
    }

    pub fn signing_key_path(&self) -> PathBuf {
        self.audit
            .signing_key_file
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("audit-signing.key"))
    }
}

/// Figment's messages, without its profile prefix ("default.").
fn figment_errors(e: figment::Error) -> Vec<String> {
    e.into_iter()
        .map(|e| e.to_string().replace("for key \"default.", "for key \""))
        .collect()
}

/// Removes keys the settings do not have, naming each. An empty object in
/// `known` is an open map (e.g. `twilio.webhook_keys`).
fn strip_unknown(
    value: serde_json::Value,
    known: &serde_json::Value,
    path: &str,
    problems: &mut Vec<String>,
) -> serde_json::Value {
    use serde_json::Value;
    match (value, known) {
        (Value::Object(map), Value::Object(k)) if !k.is_empty() => Value::Object(
            map.into_iter()
                .filter_map(|(key, v)| {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match k.get(&key) {
                        Some(kv) => Some((key, strip_unknown(v, kv, &here, problems))),
                        None => {
                            problems.push(format!(
                                "{here}: unknown key (not a pingate setting; check the spelling)"
                            ));
                            None
                        }
                    }
                })
                .collect(),
        ),
        (v, _) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    fn from_toml(s: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(Figment::new().merge(Toml::string(s)))
    }

    #[test]
    fn defaults_are_valid_and_match_the_design() {
        let s = from_toml("").unwrap();
        assert_eq!(s.server.listen, "127.0.0.1:8080");
        assert_eq!(s.database.url.expose(), "sqlite://data/pingate.db");
        assert_eq!(s.pin.length, 6);
        assert_eq!(s.pin.ttl.0, Duration::from_secs(600));
        assert_eq!(s.pin.max_attempts, 5);
        assert_eq!(s.pin.max_sends, 3);
        assert_eq!(s.grant.ttl.0, Duration::from_secs(1800));
        assert_eq!(s.security.caller_id_trust, CallerIdTrust::AttestedA);
        assert_eq!(s.email.transport, EmailTransport::File);
        assert_eq!(s.sms.transport, SmsTransport::File);
    }

    #[test]
    fn the_shipped_config_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH);
        Settings::from_figment(Figment::new().merge(Toml::file(path))).unwrap();
    }

    #[test]
    fn durations_parse_in_human_units() {
        assert_eq!(
            HumanDuration::parse("500ms").unwrap().0,
            Duration::from_millis(500)
        );
        assert_eq!(
            HumanDuration::parse("30s").unwrap().0,
            Duration::from_secs(30)
        );
        assert_eq!(
            HumanDuration::parse("10m").unwrap().0,
            Duration::from_secs(600)
        );
        assert_eq!(
            HumanDuration::parse("2h").unwrap().0,
            Duration::from_secs(7200)
        );
        assert_eq!(
            HumanDuration::parse("45").unwrap().0,
            Duration::from_secs(45)
        );
        assert!(HumanDuration::parse("10 minutes").is_err());
        assert!(HumanDuration::parse("m").is_err());
        assert!(HumanDuration::parse("").is_err());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = from_toml(
            r#"
            [server]
            listen = "nowhere"
            [pin]
            length = 4
            ttl = "2h"
            [email]
            transport = "smtp"
            "#,
        )
        .unwrap_err()
        .to_string();
        for needle in [
            "server.listen",
            "pin.length",
            "pin.ttl",
            "email.smtp_url",
            "email.from",
        ] {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_enums_are_refused_in_words() {
        let err = from_toml("[pin]\nlenght = 6\n").unwrap_err().to_string();
        assert!(err.contains("lenght"), "{err}");
        let err = from_toml("[security]\ncaller_id_trust = \"maybe\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("maybe"), "{err}");
    }

    #[test]
    fn unknown_keys_are_reported_with_every_other_problem() {
        let err = from_toml(
            "colour = \"blue\"\n[server]\nlisten = \"nowhere\"\n[pin]\nlength = 4\ncolour = 1\n",
        )
        .unwrap_err()
        .to_string();
        for needle in [
            "colour: unknown key",
            "pin.colour: unknown key",
            "server.listen",
            "pin.length",
        ] {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
        assert!(!err.contains("default."), "{err}");
    }

    #[test]
    fn open_maps_take_any_key() {
        let s = from_toml("[twilio.webhook_keys]\nkey-2026 = \"secret-value\"\n").unwrap();
        assert_eq!(s.twilio.webhook_keys["key-2026"].expose(), "secret-value");
    }

    #[test]
    fn numeric_secrets_from_the_environment_are_accepted() {
        let figment = Figment::new().merge(Serialized::default("twilio.auth_token", 12345));
        let s = Settings::from_figment(figment).unwrap();
        assert_eq!(s.twilio.auth_token.unwrap().expose(), "12345");
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = from_toml("[twilio]\nauth_token = \"tok-very-secret-value\"\n").unwrap();
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}
