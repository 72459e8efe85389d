//! `[retention]`: how long pingate keeps what it records, and how the purge
//! job paces itself. `[database]`'s disk threshold for readiness lives with
//! the other storage keys in `sections.rs`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::HumanDuration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Whether `pingate serve` runs the purge job (`retention run` works
    /// either way).
    pub enabled: bool,
    /// How often the job runs on each instance.
    pub interval: HumanDuration,
    /// Ended calls, with their challenges and PIN lockouts, this long after
    /// they end.
    pub calls: HumanDuration,
    /// Messages that reached a final status, this long after their last change.
    pub messages: HumanDuration,
    /// Grants, this long after they expired or were revoked.
    pub grants: HumanDuration,
    /// Webhook receipts (replay guards) and early delivery reports, this
    /// long after they arrived: providers stop retrying within hours.
    pub webhook_receipts: HumanDuration,
    /// Rows per delete statement (each batch is its own short transaction).
    pub batch_size: u32,
    /// Pause between batches, so other writes take the writer in between.
    pub batch_pause: HumanDuration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        const DAY: u64 = 86_400;
        Self {
            enabled: true,
            interval: HumanDuration(Duration::from_secs(3600)),
            calls: HumanDuration(Duration::from_secs(90 * DAY)),
            messages: HumanDuration(Duration::from_secs(90 * DAY)),
            grants: HumanDuration(Duration::from_secs(90 * DAY)),
            webhook_receipts: HumanDuration(Duration::from_secs(7 * DAY)),
            batch_size: 500,
            batch_pause: HumanDuration(Duration::from_millis(20)),
        }
    }
}

impl RetentionSettings {
    /// Every problem with these values.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let day = Duration::from_secs(86_400);
        for (key, d) in [
            ("calls", self.calls),
            ("messages", self.messages),
            ("grants", self.grants),
            ("webhook_receipts", self.webhook_receipts),
        ] {
            if d.0 < day {
                out.push(format!("retention.{key}: must be at least 1d"));
            }
        }
        if self.interval.0 < Duration::from_secs(60) {
            out.push("retention.interval: must be at least 1m".into());
        }
        if !(1..=10_000).contains(&self.batch_size) {
            out.push(format!(
                "retention.batch_size: {} is outside 1..=10000",
                self.batch_size
            ));
        }
        if self.batch_pause.0 > Duration::from_secs(10) {
            out.push("retention.batch_pause: must be at most 10s".into());
        }
        out
    }
}
