//! Checking typed settings: ranges and the keys that need each other.
//! Every problem at once, each naming its key.

use std::net::SocketAddr;
use std::time::Duration;

use super::{ConfigError, EmailTransport, Problem, Settings, SmsTransport, VoiceRoute};

/// The problems found so far.
#[derive(Default)]
struct Found(Vec<Problem>);

impl Found {
    fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem::value(key, message));
    }

    /// `key` must lie in its range of [`WHOLE_RANGES`].
    fn range(&mut self, key: &str, v: impl Into<u64>) {
        let v = v.into();
        let Some((lo, hi)) = whole_range(key) else {
            return;
        };
        if v < lo || v > hi {
            self.add(
                key,
                format!("must be a whole number from {lo} to {hi}, got {v}"),
            );
        }
    }

    fn at_least<T: PartialOrd + std::fmt::Display>(&mut self, key: &str, v: T, lo: T) {
        if v < lo {
            self.add(key, format!("must be at least {lo}, got {v}"));
        }
    }

    fn duration(&mut self, key: &str, v: Duration, lo: Duration, hi: Duration, words: &str) {
        if v < lo || v > hi {
            self.add(key, format!("must be {words}, got {}", shown(v)));
        }
    }
}

fn shown(d: Duration) -> String {
    match d.as_millis() {
        ms if !ms.is_multiple_of(1000) => format!("{ms}ms"),
        ms => format!("{}s", ms / 1000),
    }
}

const FOREVER: Duration = Duration::MAX;

/// Keys that take a whole number in a range, so a value that is not a
/// number at all can be told the range too.
pub(super) const WHOLE_RANGES: &[(&str, u64, u64)] = &[
    ("pin.length", 6, 10),
    ("pin.max_attempts", 1, 10),
    ("pin.max_sends", 1, 10),
    ("voice.ivr_attempts", 1, 10),
    ("delivery.max_attempts", 1, 50),
    ("limits.failures_per_caller", 1, 100),
    ("limits.failures_per_org", 1, 100),
];

/// The range of `key`, if it has one.
pub(super) fn whole_range(key: &str) -> Option<(u64, u64)> {
    WHOLE_RANGES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, lo, hi)| (lo, hi))
}

impl Settings {
    /// Every problem at once, so an operator fixes the file in one pass.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The problems, each naming its key (the loader adds where it was set).
    pub fn problems(&self) -> Vec<Problem> {
        let mut f = Found::default();
        self.check_server(&mut f);
        self.check_pin(&mut f);
        self.check_email_and_sms(&mut f);
        self.check_twilio_and_voice(&mut f);
        self.check_audit(&mut f);
        self.check_delivery(&mut f);
        self.check_limits(&mut f);
        self.check_console(&mut f);
        f.0.extend(self.provider_problems());
        if let Some(sid) = &self.twilio.workflow_sid
            && !(sid.len() == 34
                && sid.starts_with("WW")
                && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            f.add(
                "twilio.workflow_sid",
                format!("must be WW followed by 32 hex digits, got {sid:?}"),
            );
        }
        if let Some(support) = &self.support
            && let Err(more) = support.desk()
        {
            // The desk's checks say "key: what is wrong".
            for p in more {
                match p.split_once(": ") {
                    Some((key, what)) => f.add(key, what),
                    None => f.add("support", p),
                }
            }
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            f.add(
                "log.level",
                format!(
                    "must be a log filter such as \"info\" or \"pingate=debug,info\", got {:?}",
                    self.log.level
                ),
            );
        }
        f.0
    }

    fn check_server(&self, f: &mut Found) {
        if self.server.listen.parse::<SocketAddr>().is_err() {
            f.add(
                "server.listen",
                format!(
                    "must be an address like 127.0.0.1:8080, got {:?}",
                    self.server.listen
                ),
            );
        }
        let base = self.server.public_base_url.as_str();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.ends_with('/') {
            f.add(
                "server.public_base_url",
                format!(
                    "must start with http:// or https:// and have no trailing slash, got {base:?}"
                ),
            );
        }
        f.at_least("server.max_body_bytes", self.server.max_body_bytes, 1024);
        let db = self.database.url.expose();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            // Not echoed: the URL may carry a password.
            f.add("database.url", "must start with sqlite:// or postgres://");
        }
        f.at_least("database.max_connections", self.database.max_connections, 1);
        f.at_least(
            "database.group_commit_max",
            self.database.group_commit_max,
            1,
        );
        if self.database.group_commit_max > 10_000 {
            f.add("database.group_commit_max", "must be at most 10000");
        }
        let wait = self.database.group_commit_wait.0;
        f.duration(
            "database.group_commit_wait",
            wait,
            Duration::ZERO,
            Duration::from_secs(1),
            "at most 1s",
        );
        if self.database.min_free_disk_percent > 99 {
            f.add("database.min_free_disk_percent", "must be at most 99");
        }
        for p in self.retention.problems() {
            match p.split_once(": ") {
                Some((key, what)) => f.add(key, what),
                None => f.add("retention", p),
            }
        }
    }

    fn check_pin(&self, f: &mut Found) {
        let p = &self.pin;
        f.range("pin.length", p.length as u64);
        let (s30, h1) = (Duration::from_secs(30), Duration::from_secs(3600));
        f.duration("pin.ttl", p.ttl.0, s30, h1, "from 30s to 1h");
        f.range("pin.max_attempts", p.max_attempts);
        f.range("pin.max_sends", p.max_sends);
        f.at_least("pin.argon2_memory_kib", p.argon2_memory_kib, 8);
        f.at_least("pin.argon2_iterations", p.argon2_iterations, 1);
        f.at_least("pin.hash_concurrency", p.hash_concurrency, 1);
        if !(0..=19).contains(&p.hash_nice) {
            f.add(
                "pin.hash_nice",
                format!("must be from 0 to 19, got {}", p.hash_nice),
            );
        }
        f.at_least("pin.hash_queue", p.hash_queue, 1);
        f.at_least("pin.hash_per_principal", p.hash_per_principal, 1);
        let (m1, d1) = (Duration::from_secs(60), Duration::from_secs(24 * 3600));
        f.duration("grant.ttl", self.grant.ttl.0, m1, d1, "from 1m to 24h");
        if let Some(pepper) = &self.security.pepper
            && pepper.expose().len() < 32
        {
            f.add(
                "security.pepper",
                format!(
                    "must be at least 32 characters, got {} (e.g. the output of `openssl rand -hex 32`)",
                    pepper.expose().len()
                ),
            );
        }
    }

    fn check_email_and_sms(&self, f: &mut Found) {
        if self.email.transport == EmailTransport::Smtp {
            match &self.email.smtp_url {
                None => f.add("email.smtp_url", "required when email.transport = \"smtp\""),
                Some(u)
                    if !(u.expose().starts_with("smtp://")
                        || u.expose().starts_with("smtps://")) =>
                {
                    f.add("email.smtp_url", "must start with smtp:// or smtps://")
                }
                Some(_) => {}
            }
            if self.email.from.is_none() {
                f.add("email.from", "required when email.transport = \"smtp\"");
            }
        }
        if self.sms.transport == SmsTransport::Twilio {
            for (key, missing) in [
                ("twilio.account_sid", self.twilio.account_sid.is_none()),
                ("twilio.auth_token", self.twilio.auth_token.is_none()),
                ("twilio.sms_from", self.twilio.sms_from.is_none()),
            ] {
                if missing {
                    f.add(key, "required when sms.transport = \"twilio\"");
                }
            }
        }
    }

    fn check_twilio_and_voice(&self, f: &mut Found) {
        if let Some(sid) = &self.twilio.account_sid
            && !(sid.len() == 34
                && sid.starts_with("AC")
                && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            f.add(
                "twilio.account_sid",
                format!("must be AC followed by 32 hex digits, got {sid:?}"),
            );
        }
        let api = self.twilio.api_base_url.as_str();
        if !(api.starts_with("http://") || api.starts_with("https://")) {
            f.add(
                "twilio.api_base_url",
                format!("must start with https:// (or http:// for a local imitation), got {api:?}"),
            );
        }
        if self.voice.route == VoiceRoute::Dial && self.voice.dial_number.is_none() {
            f.add("voice.dial_number", "required when voice.route = \"dial\"");
        }
        if self.voice.queue.trim().is_empty() {
            f.add("voice.queue", "must not be empty");
        }
        f.range("voice.ivr_attempts", self.voice.ivr_attempts);
    }

    fn check_audit(&self, f: &mut Found) {
        let a = &self.audit;
        if a.origin.trim().is_empty() || a.origin.contains(char::is_whitespace) {
            f.add(
                "audit.origin",
                format!(
                    "must be a non-empty name without spaces, got {:?}",
                    a.origin
                ),
            );
        }
        if let Some(seed) = &a.signing_key {
            if a.signing_key_file.is_some() {
                f.add(
                    "audit.signing_key",
                    "set either audit.signing_key or audit.signing_key_file, not both",
                );
            } else if let Err(why) = crate::audit::checkpoint::parse_seed(seed.expose()) {
                f.add("audit.signing_key", format!("is {why}"));
            }
        }
        f.at_least(
            "audit.checkpoint_every_events",
            a.checkpoint_every_events,
            1,
        );
        let s1 = Duration::from_secs(1);
        f.duration(
            "audit.checkpoint_interval",
            a.checkpoint_interval.0,
            s1,
            FOREVER,
            "at least 1s",
        );
    }

    fn check_delivery(&self, f: &mut Found) {
        let d = &self.delivery;
        f.range("delivery.max_attempts", d.max_attempts);
        if d.backoff_base.0.is_zero() {
            f.add("delivery.backoff_base", "must be more than 0s");
        }
        if d.backoff_cap.0 < d.backoff_base.0 {
            f.add(
                "delivery.backoff_cap",
                format!(
                    "must be at least delivery.backoff_base ({}), got {}",
                    shown(d.backoff_base.0),
                    shown(d.backoff_cap.0)
                ),
            );
        }
        let s1 = Duration::from_secs(1);
        f.duration("delivery.lease", d.lease.0, s1, FOREVER, "at least 1s");
        let ms10 = Duration::from_millis(10);
        f.duration(
            "delivery.poll_interval",
            d.poll_interval.0,
            ms10,
            FOREVER,
            "at least 10ms",
        );
        if d.lease.0 <= self.email.timeout.0 || d.lease.0 <= self.sms.timeout.0 {
            f.add(
                "delivery.lease",
                "must be longer than email.timeout and sms.timeout (a send that outlasts its lease can be taken over and sent twice)",
            );
        }
        if d.support_name.trim().is_empty() {
            f.add("delivery.support_name", "must not be empty");
        }
    }

    fn check_console(&self, f: &mut Found) {
        let c = &self.console;
        if c.idle_timeout.0 < Duration::from_secs(60) || c.idle_timeout.0 > c.absolute_timeout.0 {
            f.add(
                "console.idle_timeout",
                "must be at least 1m and no longer than console.absolute_timeout",
            );
        }
        let week = Duration::from_secs(7 * 24 * 3600);
        if c.absolute_timeout.0 > week {
            f.add("console.absolute_timeout", "must be at most 7d");
        }
        f.at_least("console.sign_in_attempts", c.sign_in_attempts, 1);
        let s1 = Duration::from_secs(1);
        f.duration(
            "console.sign_in_window",
            c.sign_in_window.0,
            s1,
            FOREVER,
            "at least 1s",
        );
        let (ms100, s2) = (Duration::from_millis(100), Duration::from_secs(2));
        // Changes must show on live pages within 2 s.
        f.duration(
            "console.live_poll",
            c.live_poll.0,
            ms100,
            s2,
            "from 100ms to 2s",
        );
    }

    fn check_limits(&self, f: &mut Found) {
        let l = &self.limits;
        let m1 = Duration::from_secs(60);
        f.duration("limits.window", l.window.0, m1, FOREVER, "at least 1m");
        for (name, v) in [
            ("challenges_per_caller", l.challenges_per_caller),
            ("challenges_per_org", l.challenges_per_org),
            ("challenges_per_agent", l.challenges_per_agent),
            ("orgs_per_agent", l.orgs_per_agent),
            ("sends_per_destination", l.sends_per_destination),
            ("sms_global", l.sms_global),
            ("checks_per_agent", l.checks_per_agent),
            ("checks_per_caller", l.checks_per_caller),
            ("checks_per_org", l.checks_per_org),
            ("webhook_per_second", l.webhook_per_second),
            ("webhook_burst", l.webhook_burst),
            ("api_per_second", l.api_per_second),
            ("api_burst", l.api_burst),
            ("account_tries_per_caller", l.account_tries_per_caller),
            ("account_tries_withheld", l.account_tries_withheld),
            ("account_tries_per_number", l.account_tries_per_number),
        ] {
            f.at_least(&format!("limits.{name}"), v, 1);
        }
        // NIST SP 800-63B allows at most 100 failures.
        f.range("limits.failures_per_caller", l.failures_per_caller);
        f.range("limits.failures_per_org", l.failures_per_org);
        let (m5, d1) = (Duration::from_secs(5 * 60), Duration::from_secs(24 * 3600));
        f.duration(
            "limits.override_max",
            l.override_max.0,
            m5,
            d1,
            "from 5m to 24h",
        );
        for a in &l.alert_emails {
            if crate::domain::email::EmailAddress::parse(a).is_err() {
                f.add(
                    "limits.alert_emails",
                    format!("{a:?} is not an email address"),
                );
            }
        }
        for c in &l.sms_countries {
            if c != "*" && !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())) {
                f.add(
                    "limits.sms_countries",
                    format!("{c:?} is not an ISO 3166 code like \"US\" (or \"*\")"),
                );
            }
        }
    }
}
