//! Folding repeated failures (unknown bearer tokens, bad webhook
//! signatures) from one client address into one audit event per window:
//! the first failure of a window is audited at once, the rest are counted
//! and written as one event with the count when the window closes. So a
//! flood of rejected requests writes a bounded amount to the audit log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::client::ClientKey;
use super::flood::FloodShield;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::{Clock, Millis, rfc3339};
use crate::store::{Store, StoreResult};

/// Addresses folded at once; beyond this, new addresses share one group
/// (so the map cannot be grown without bound by rotating addresses).
const MAX_OPEN: usize = 10_000;

/// One failure to record.
pub struct Failure<'a> {
    pub kind: EventKind,
    pub actor: &'a str,
    pub source: ClientKey,
    /// The route template (`/v1/calls/{call_id}`), never the raw path.
    pub path: &'a str,
    /// A short, fixed reason (e.g. the signature error), if any.
    pub reason: Option<&'a str>,
}

/// `None` is the shared group of addresses beyond [`MAX_OPEN`].
type FoldKey = (EventKind, Option<ClientKey>);

struct Fold {
    started: Millis,
    actor: String,
    path: String,
    reason: Option<String>,
    /// Failures after the first (already audited) in this window.
    folded: u64,
    /// Requests refused by the flood shield in this window (not audited
    /// one by one).
    refused: u64,
}

pub struct FailureFolder {
    window_ms: Millis,
    open: Mutex<HashMap<FoldKey, Fold>>,
}

fn source_label(key: &Option<ClientKey>) -> String {
    key.map_or_else(|| "other addresses".to_owned(), |k| k.to_string())
}

impl FailureFolder {
    pub fn new(window: Duration) -> FailureFolder {
        FailureFolder {
            window_ms: Millis::try_from(window.as_millis()).unwrap_or(Millis::MAX),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FoldKey, Fold>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one failure; returns the events to audit now (none while the
    /// address's window is open).
    pub fn record(&self, f: &Failure<'_>, now: Millis) -> Vec<NewEvent> {
        let first = |source: &Option<ClientKey>| {
            let mut e = NewEvent::new(f.kind, f.actor, Outcome::Failure)
                .detail("path", f.path)
                .detail("source", source_label(source))
                .detail("count", 1);
            if let Some(r) = f.reason {
                e = e.detail("reason", r);
            }
            e
        };
        if self.window_ms == 0 {
            return vec![first(&Some(f.source))];
        }
        let mut open = self.lock();
        let mut key = (f.kind, Some(f.source));
        if !open.contains_key(&key) && open.len() >= MAX_OPEN {
            key = (f.kind, None);
        }
        let mut out = Vec::new();
        if let Some(fold) = open.get_mut(&key) {
            if now < fold.started.saturating_add(self.window_ms) {
                fold.folded += 1;
                return out;
            }
            out.extend(self.summary(&key, fold));
        }
        open.insert(
            key,
            Fold {
                started: now,
                actor: f.actor.to_owned(),
                path: f.path.to_owned(),
                reason: f.reason.map(str::to_owned),
                folded: 0,
                refused: 0,
            },
        );
        out.push(first(&key.1));
        out
    }

    /// Counts a request the flood shield refused, in the address's open
    /// window (if it has one), so the summary says how many there were.
    pub fn refused(&self, kind: EventKind, source: ClientKey) {
        if let Some(fold) = self.lock().get_mut(&(kind, Some(source))) {
            fold.refused += 1;
        }
    }

    /// Closes the windows that have ended (every window when `all`) and
    /// returns their summary events.
    pub fn flush(&self, now: Millis, all: bool) -> Vec<NewEvent> {
        let mut open = self.lock();
        let mut out = Vec::new();
        open.retain(|key, fold| {
            let ended = all || now >= fold.started.saturating_add(self.window_ms);
            if ended {
                out.extend(self.summary(key, fold));
            }
            !ended
        });
        out
    }

    fn summary(&self, key: &FoldKey, fold: &Fold) -> Option<NewEvent> {
        if fold.folded == 0 && fold.refused == 0 {
            return None;
        }
        let mut e = NewEvent::new(key.0, fold.actor.as_str(), Outcome::Failure)
            .detail("path", fold.path.as_str())
            .detail("source", source_label(&key.1))
            .detail("count", fold.folded)
            .detail("refused", fold.refused)
            .detail("window_start", rfc3339(fold.started))
            .detail(
                "window_end",
                rfc3339(fold.started.saturating_add(self.window_ms)),
            );
        if let Some(r) = &fold.reason {
            e = e.detail("reason", r.as_str());
        }
        Some(e)
    }
}

/// Appends `events` in one transaction; a failure to audit is logged, not
/// passed to the client whose request was refused anyway.
pub async fn write(store: &Store, now: Millis, events: Vec<NewEvent>) {
    if events.is_empty() {
        return;
    }
    let result: StoreResult<()> = async {
        let mut tx = store.begin(now).await?;
        for e in events {
            tx.audit(e);
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not audit refused requests");
    }
}

/// Writes the summaries of windows as they close, and all open ones at
/// shutdown (spawned beside the checkpointer).
pub async fn run(
    shield: Arc<FloodShield>,
    store: Store,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) {
    // A scan of at most MAX_OPEN entries a second: cheap, and a closed
    // window reaches the audit trail within a second of closing.
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let all = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => true,
            _ = ticker.tick() => false,
        };
        let now = clock.now_ms();
        let events = shield.folder.flush(now, all);
        write(&store, now, events).await;
        if all {
            break;
        }
    }
}

#[cfg(test)]
mod tests;
