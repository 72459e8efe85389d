//! Checking a loaded configuration: every problem at once.

use std::net::SocketAddr;
use std::time::Duration;

use super::{ConfigError, EmailTransport, Settings, SmsTransport, VoiceRoute};

impl Settings {
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
        let c = &self.console;
        if c.idle_timeout.0 < Duration::from_secs(60) || c.idle_timeout.0 > c.absolute_timeout.0 {
            problems.push(
                "console.idle_timeout: must be at least 1m and no longer than console.absolute_timeout"
                    .into(),
            );
        }
        if c.absolute_timeout.0 > Duration::from_secs(7 * 24 * 3600) {
            problems.push("console.absolute_timeout: must be at most 7d".into());
        }
        if c.sign_in_attempts == 0 || c.sign_in_window.0 < Duration::from_secs(1) {
            problems.push(
                "console.sign_in_attempts / sign_in_window: must be at least 1 and 1s".into(),
            );
        }
        if c.live_poll.0 < Duration::from_millis(100) || c.live_poll.0 > Duration::from_secs(2) {
            problems.push(
                "console.live_poll: must be between 100ms and 2s (changes must show within 2 s)"
                    .into(),
            );
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
            ("checks_per_caller", l.checks_per_caller),
            ("checks_per_org", l.checks_per_org),
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
        if let Some(sid) = &self.twilio.workflow_sid
            && !(sid.len() == 34
                && sid.starts_with("WW")
                && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            problems.push("twilio.workflow_sid: must be WW followed by 32 hex digits".into());
        }
        if let Some(support) = &self.support
            && let Err(more) = support.desk()
        {
            problems.extend(more);
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
}
