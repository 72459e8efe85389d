//! The retention policy as values: given "now" and the configured periods,
//! the instant before which each kind of record may go. No I/O; the store
//! turns these cutoffs into batched deletes.

use std::time::Duration;

use crate::clock::Millis;

/// How long each kind of record is kept after it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub calls: Duration,
    pub messages: Duration,
    pub grants: Duration,
    pub webhook_receipts: Duration,
    /// The quota window: a window is kept for one more window after it
    /// ended (instances' clocks may disagree a little), then it can no
    /// longer matter.
    pub quota_window: Duration,
}

/// Instants (Unix ms): a record that ended strictly before its cutoff may
/// be deleted. `now` is kept so "still active" can be decided too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    pub now: Millis,
    pub calls: Millis,
    pub messages: Millis,
    pub grants: Millis,
    pub webhook_receipts: Millis,
    pub quota_windows: Millis,
}

fn before(now: Millis, d: Duration) -> Millis {
    now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Policy {
    pub fn cutoffs(&self, now: Millis) -> Cutoffs {
        Cutoffs {
            now,
            calls: before(now, self.calls),
            messages: before(now, self.messages),
            grants: before(now, self.grants),
            webhook_receipts: before(now, self.webhook_receipts),
            quota_windows: before(now, self.quota_window.saturating_mul(2)),
        }
    }
}

#[cfg(test)]
mod tests;
