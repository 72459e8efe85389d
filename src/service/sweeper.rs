//! The expiry sweeper: challenges that expire untouched (nobody checks,
//! resends or hangs up) are recorded as expired, audited, and their sealed
//! PIN and queued message bodies wiped. Runs on every instance; the
//! conditional update in `store::challenges::expire_due` keeps the work
//! from being done twice.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::store::{StoreResult, challenges, messages};

/// Challenges expired per transaction: keeps each write short.
const BATCH: i64 = 100;

/// Expires every challenge due at the clock's now, in batches; returns how
/// many this call expired.
pub async fn sweep(state: &AppState) -> StoreResult<usize> {
    let mut total = 0;
    loop {
        let now = state.clock.now_ms();
        let mut tx = state.store.begin(now).await?;
        let backend = tx.backend();
        let expired = challenges::expire_due(tx.conn(), backend, now, BATCH).await?;
        for c in &expired {
            messages::wipe_for_challenge(tx.conn(), &c.id, now).await?;
            tx.audit(
                NewEvent::new(EventKind::ChallengeExpired, "system", Outcome::Success)
                    .org(&c.org_id)
                    .call(&c.call_id)
                    .challenge(&c.id)
                    .detail("by", "sweeper"),
            );
        }
        tx.commit().await?;
        total += expired.len();
        if (expired.len() as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// Sweeps every `pin.sweep_interval` until shutdown (spawned beside the
/// checkpointer).
pub async fn run(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    // A zero interval would make tokio's interval panic.
    let every = state
        .settings
        .pin
        .sweep_interval
        .0
        .max(Duration::from_millis(100));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = ticker.tick() => {}
        }
        match sweep(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired challenges swept"),
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed"),
        }
    }
}
