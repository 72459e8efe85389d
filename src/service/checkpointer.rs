//! Signed checkpoints of the live log, and the checks built on them: the
//! signer (on demand, and a background task every N events or T seconds),
//! which also stores the tile roots proofs read (`audit::proofs`), and
//! whole-log verification against stored checkpoints and one a reviewer
//! holds. Unlike the rest of `audit`
//! this module does I/O: it is the bridge between the pure proofs and the
//! store. Every whole-log pass streams, so memory stays constant.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use sqlx::AnyPool;
use tokio::sync::watch;

use crate::app::AppState;
use crate::audit::chain::{ChainError, ChainVerifier};
use crate::audit::checkpoint::{self, Checkpoint};
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::audit::merkle::Hash;
use crate::clock::Millis;
use crate::service::{InternalError, ServiceError, ServiceResult};
use crate::store::audit::{self as audit_store, AuditFilter};
use crate::store::audit_tiles;
use crate::store::checkpoints::{self, StoredCheckpoint};

mod verify;
pub use verify::{
    Expectation, Verified, VerifyError, held_expectation, stored_expectation, verify_database,
    verify_log,
};

/// How often the background task looks at the log's head. A `MAX(seq)` on
/// the primary key, so polling is cheap; the write path needs no hook.
const POLL: Duration = Duration::from_secs(1);

/// The C2SP verifier key reviewers pin: `<origin>+<key id>+<key>`.
pub fn public_key(state: &AppState) -> ServiceResult<String> {
    checkpoint::encode_public_key(
        &state.settings.audit.origin,
        &state.keys.signing.verifying_key(),
    )
    .map_err(ServiceError::from)
}

/// A checkpoint of the whole log as it is now, and whether this call signed
/// it (`false`: the log has not grown since the latest one, which is returned).
#[derive(Debug, Clone)]
pub struct Signed {
    pub checkpoint: StoredCheckpoint,
    pub new: bool,
}

/// Verifies the whole log (streaming), then signs and stores a checkpoint
/// of it. Refuses to sign a log whose chain is broken or that no longer
/// extends the latest stored checkpoint: a signature must never launder a
/// rewrite.
pub async fn checkpoint_now(state: &AppState) -> ServiceResult<Signed> {
    let pool = state.store.reader();
    let latest = checkpoints::latest(pool).await?;
    let anchor = last_signed(state)?;
    let mut chain = ChainVerifier::new().keeping_tiles();
    let checks: Vec<Expect> = [expect_stored(latest.as_ref()), anchor]
        .into_iter()
        .flatten()
        .collect();
    if let Err(e) = catch_up(pool, &mut chain, &checks).await {
        return Err(refuse(state, e).await);
    }
    save_tiles(state, &mut chain).await?;
    sign_and_store(state, &chain, latest).await
}

fn refused(err: ChainError) -> ServiceError {
    ServiceError::conflict(
        "audit-log-broken",
        format!(
            "refusing to sign a checkpoint: the audit log is not intact at event {}: {}",
            err.seq, err.reason
        ),
        None,
    )
}

/// A (size, root) the log must pass through.
#[derive(Debug, Clone, Copy)]
struct Expect {
    size: u64,
    root: Hash,
    /// The last checkpoint signed, kept outside the database (see
    /// `audit::anchor`), rather than the latest stored one.
    anchor: bool,
}

impl Expect {
    fn what(&self) -> &'static str {
        if self.anchor {
            "last signed checkpoint (kept beside the signing key)"
        } else {
            "latest checkpoint"
        }
    }
}

fn expect_stored(cp: Option<&StoredCheckpoint>) -> Option<Expect> {
    cp.map(|c| Expect {
        size: c.size,
        root: c.root,
        anchor: false,
    })
}

/// The anchor as an expectation; an anchor file that cannot be read or
/// does not verify stops signing (it is the one thing a forger would
/// want gone).
fn last_signed(state: &AppState) -> ServiceResult<Option<Expect>> {
    let key = state.keys.signing.verifying_key();
    let held = state
        .anchor
        .load(&state.settings.audit.origin, &key)
        .map_err(ServiceError::from)?;
    Ok(held.map(|h| Expect {
        size: h.size,
        root: h.root,
        anchor: true,
    }))
}

/// Why catching up failed: the store, or the log is not what it must be.
enum CatchUpError {
    Service(ServiceError),
    Broken { err: ChainError, anchor: bool },
}

impl From<crate::store::StoreError> for CatchUpError {
    fn from(e: crate::store::StoreError) -> Self {
        CatchUpError::Service(e.into())
    }
}

/// The error to answer; a log that does not extend the last signed
/// checkpoint is also audited and reported by `/readyz`.
async fn refuse(state: &AppState, e: CatchUpError) -> ServiceError {
    match e {
        CatchUpError::Service(e) => e,
        CatchUpError::Broken { err, anchor } => {
            if anchor {
                record_anchor_refusal(state, &err).await;
            }
            refused(err)
        }
    }
}

async fn record_anchor_refusal(state: &AppState, err: &ChainError) {
    let why = format!("event {}: {}", err.seq, err.reason);
    state.anchor.set_refused(why.clone());
    tracing::error!(reason = %why, "audit checkpoint refused: the log does not extend the last signed checkpoint");
    let held = last_signed(state).ok().flatten();
    let mut event = NewEvent::new(
        EventKind::AuditCheckpointRefused,
        "system",
        Outcome::Failure,
    )
    .detail("reason", why)
    .detail("first_bad_seq", err.seq);
    if let Some(h) = held {
        event = event
            .detail("signed_size", h.size)
            .detail("signed_root", hex::encode(h.root));
    }
    let written = async {
        let mut tx = state.store.begin(state.clock.now_ms()).await?;
        tx.audit(event);
        tx.commit().await
    }
    .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "could not audit a refused checkpoint");
    }
}

/// Pushes every event after `chain.size()` into `chain`. At each size in
/// `checks` the chain passes through, the root must match; a check beyond
/// the end of the log means it was truncated.
async fn catch_up(
    pool: &AnyPool,
    chain: &mut ChainVerifier,
    checks: &[Expect],
) -> Result<(), CatchUpError> {
    let matches = |chain: &ChainVerifier| -> Result<(), CatchUpError> {
        match checks
            .iter()
            .find(|c| c.size == chain.size() && c.root != chain.root())
        {
            Some(c) => Err(CatchUpError::Broken {
                err: ChainError {
                    seq: c.size as i64,
                    reason: format!(
                        "the log no longer matches the {} (size {}): an event at or before it was altered",
                        c.what(),
                        c.size
                    ),
                },
                anchor: c.anchor,
            }),
            None => Ok(()),
        }
    };
    matches(chain)?;
    let filter = AuditFilter {
        after_seq: Some(chain.size() as i64),
        ..AuditFilter::default()
    };
    let mut events = audit_store::stream(pool.clone(), filter);
    while let Some(e) = events.next().await {
        let pushed = chain.push(&e?);
        // A broken link before the anchor's size is the anchor's refusal
        // too: the signed history was rewritten.
        pushed.map_err(|err| CatchUpError::Broken {
            anchor: checks.iter().any(|c| c.anchor && c.size >= err.seq as u64),
            err,
        })?;
        matches(chain)?;
    }
    match checks.iter().find(|c| c.size > chain.size()) {
        Some(c) => Err(CatchUpError::Broken {
            err: ChainError {
                seq: chain.size() as i64 + 1,
                reason: format!(
                    "the log was truncated: the {} covers {} events, the log has {}",
                    c.what(),
                    c.size,
                    chain.size()
                ),
            },
            anchor: c.anchor,
        }),
        None => Ok(()),
    }
}

/// Stores the roots of the tiles `chain` completed since the last call;
/// the caller has just verified them (and the latest checkpoint) in order.
async fn save_tiles(state: &AppState, chain: &mut ChainVerifier) -> ServiceResult<()> {
    let tiles = chain.take_tiles();
    if tiles.is_empty() {
        return Ok(());
    }
    // No audit event: the tiles restate what the log already holds.
    let mut tx = state.store.begin(state.clock.now_ms()).await?;
    audit_tiles::put(tx.conn(), &tiles).await?;
    tx.commit().await?;
    Ok(())
}

async fn sign_and_store(
    state: &AppState,
    chain: &ChainVerifier,
    latest: Option<StoredCheckpoint>,
) -> ServiceResult<Signed> {
    let (size, root) = (chain.size(), chain.root());
    if let Some(latest) = latest
        && latest.size == size
    {
        // catch_up compared the roots at this size already.
        keep_anchor(state, &latest)?;
        return Ok(Signed {
            checkpoint: latest,
            new: false,
        });
    }
    let now = state.clock.now_ms();
    let origin = &state.settings.audit.origin;
    let cp = Checkpoint {
        origin: origin.clone(),
        size,
        root,
        timestamp: now.div_euclid(1000),
    };
    let text = checkpoint::sign(&cp, origin, &state.keys.signing).map_err(ServiceError::from)?;
    let stored = StoredCheckpoint {
        size,
        root,
        created_at: now,
        text,
    };
    // Through a write transaction (with no audit event: a checkpoint that
    // logged itself would grow the log it just described).
    let mut tx = state.store.begin(now).await?;
    let inserted = checkpoints::insert(tx.conn(), &stored).await?;
    tx.commit().await?;
    if inserted {
        keep_anchor(state, &stored)?;
        return Ok(Signed {
            checkpoint: stored,
            new: true,
        });
    }
    signed_first_elsewhere(state, size, root).await
}

/// Another instance (or the timer) stored a checkpoint of `size` first:
/// it is ours too if its root is the one just verified.
async fn signed_first_elsewhere(state: &AppState, size: u64, root: Hash) -> ServiceResult<Signed> {
    let existing =
        checkpoints::get(state.store.reader(), size)
            .await?
            .ok_or(InternalError::Invariant(
                "a checkpoint vanished after its insert met it",
            ))?;
    if existing.root != root {
        return Err(ServiceError::conflict(
            "audit-log-broken",
            format!(
                "a checkpoint of size {size} with a different root is already stored: the log has forked"
            ),
            None,
        ));
    }
    keep_anchor(state, &existing)?;
    Ok(Signed {
        checkpoint: existing,
        new: false,
    })
}

/// Remembers a checkpoint whose root this server verified as the one
/// every later log must extend.
fn keep_anchor(state: &AppState, cp: &StoredCheckpoint) -> ServiceResult<()> {
    let key = state.keys.signing.verifying_key();
    state
        .anchor
        .store(&cp.text, cp.size, &state.settings.audit.origin, &key)
        .map_err(ServiceError::from)?;
    state.anchor.clear_refused();
    Ok(())
}

/// Whether a checkpoint is due: the log grew past the latest one, by at
/// least `every` events or after at least `interval` since it was signed.
pub fn due(head: u64, last_size: u64, since_last: Millis, every: u64, interval: Duration) -> bool {
    head > last_size && (head - last_size >= every || since_last >= interval.as_millis() as Millis)
}

/// The background signer. It keeps the chain it verified last time and
/// only reads the events after it, so a tick costs what was appended, not
/// the whole log; after any refusal it starts over with a full pass.
pub struct Checkpointer {
    state: Arc<AppState>,
    chain: Option<ChainVerifier>,
    started: Millis,
    /// After a refusal or failure, wait one interval before trying again
    /// (the error is logged once per interval, not once per poll).
    retry_at: Option<Millis>,
}

impl Checkpointer {
    pub fn new(state: Arc<AppState>) -> Self {
        let started = state.clock.now_ms();
        Self {
            state,
            chain: None,
            started,
            retry_at: None,
        }
    }

    /// Signs a checkpoint if one is due; returns it when this call made it.
    pub async fn tick(&mut self) -> ServiceResult<Option<StoredCheckpoint>> {
        let now = self.state.clock.now_ms();
        if self.retry_at.is_some_and(|t| now < t) {
            return Ok(None);
        }
        let result = self.try_tick(now).await;
        if result.is_err() {
            self.chain = None;
            self.retry_at =
                Some(now + self.state.settings.audit.checkpoint_interval.0.as_millis() as Millis);
        } else {
            self.retry_at = None;
        }
        result
    }

    async fn try_tick(&mut self, now: Millis) -> ServiceResult<Option<StoredCheckpoint>> {
        let settings = &self.state.settings.audit;
        let pool = self.state.store.reader();
        let head = checkpoints::head_seq(pool).await?;
        let latest = checkpoints::latest(pool).await?;
        let (last_size, last_at) = latest
            .as_ref()
            .map_or((0, self.started), |c| (c.size, c.created_at));
        let due = due(
            head,
            last_size,
            now - last_at,
            settings.checkpoint_every_events,
            settings.checkpoint_interval.0,
        );
        // The first tick reads the whole log even when nothing is due: it
        // stores the tiles proofs need (after an upgrade there are none)
        // and finds a broken log at start-up rather than at the next signing.
        if !due && self.chain.is_some() {
            return Ok(None);
        }
        let mut chain = self
            .chain
            .take()
            .unwrap_or_else(|| ChainVerifier::new().keeping_tiles());
        if head < chain.size() {
            return Err(refused(ChainError {
                seq: head as i64 + 1,
                reason: format!(
                    "the log was truncated: {} events were verified, the log now ends at {head}",
                    chain.size()
                ),
            }));
        }
        // The latest checkpoint can only be compared when the chain has not
        // passed it; one behind us was either ours or checked when signed.
        let passed = chain.size();
        let checks: Vec<Expect> = [expect_stored(latest.as_ref()), last_signed(&self.state)?]
            .into_iter()
            .flatten()
            .filter(|c| c.size >= passed)
            .collect();
        let caught_up = match catch_up(pool, &mut chain, &checks).await {
            Ok(()) => Ok(()),
            Err(e) => Err(refuse(&self.state, e).await),
        };
        self.state
            .checkpointer_passes
            .fetch_add(1, Ordering::Relaxed);
        caught_up?;
        save_tiles(&self.state, &mut chain).await?;
        if !due {
            self.chain = Some(chain);
            return Ok(None);
        }
        let signed = sign_and_store(&self.state, &chain, latest).await?;
        self.chain = Some(chain);
        Ok(signed.new.then_some(signed.checkpoint))
    }
}

/// The background task started with the server: polls until `shutdown`.
pub async fn run(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(state.settings.audit.checkpoint_interval.0.min(POLL));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut signer = Checkpointer::new(state);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = ticker.tick() => {}
        }
        // A full first pass over a long log can take seconds: shutdown
        // interrupts it (nothing is half-written; the insert is one statement).
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            result = signer.tick() => match result {
                Ok(Some(cp)) => tracing::info!(size = cp.size, root = %hex::encode(cp.root), "audit checkpoint signed"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "audit checkpoint not signed"),
            },
        }
    }
}

#[cfg(test)]
mod tests;
