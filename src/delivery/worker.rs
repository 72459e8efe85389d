//! The outbox worker: claims due messages under a lease, takes the lease
//! again right before each send, and records the outcome only while it
//! still holds it. A worker that dies mid-send leaves its lease to run out,
//! and the message is claimed again: the one window where a message can go
//! out twice is between the provider accepting it and our commit (and a
//! single send that outlasts the lease, so keep the lease above the
//! SMTP and Messages API timeouts).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use rand::RngExt;
use secrecy::ExposeSecret;
use tokio::sync::{Notify, watch};

use super::reports::{self, DeliveryReport};
use super::{FailureReason, Sealer, SendError, Senders};
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::{Clock, Millis};
use crate::domain::message::{MessageKind, MessageStatus};
use crate::domain::org::Channel;
use crate::store::challenges;
use crate::store::messages::{self, MessageRow};
use crate::store::{LockSpace, Store, StoreResult, WriteTx};

const BATCH: i64 = 16;

/// Called after a PIN message failed for good (for the fallback channel):
/// (challenge id, channel that failed).
pub type PinFailedHook = Arc<dyn Fn(String, Channel) -> BoxFuture<'static, ()> + Send + Sync>;

pub struct Worker {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub sealer: Sealer,
    pub senders: Arc<Senders>,
    pub wake: Arc<Notify>,
    pub backoff_base_ms: i64,
    pub backoff_cap_ms: i64,
    /// Tries before a message is dead-lettered.
    pub max_attempts: i64,
    pub lease_ms: i64,
    /// Retries are due at times another instance may have set: an idle
    /// worker looks again this often even without a wake-up.
    pub poll: Duration,
    pub on_pin_failed: Option<PinFailedHook>,
}

/// Full-jitter exponential backoff: uniform in [0, min(cap, base·2^(n-1))].
pub fn backoff_ms(attempt: i64, base_ms: i64, cap_ms: i64, unit: f64) -> i64 {
    let exp = base_ms.saturating_mul(1i64 << (attempt.clamp(1, 30) - 1));
    let ceiling = exp.min(cap_ms).max(1);
    (ceiling as f64 * unit.clamp(0.0, 1.0)) as i64
}

/// What the worker records after one send.
struct SendOutcome {
    status: MessageStatus,
    provider_id: Option<String>,
    reason: Option<String>,
    next_attempt_at: Option<Millis>,
}

/// Whether the worker may send a claimed message, decided right before.
enum Lease {
    /// Another worker took the message over.
    Lost,
    /// Ours, but there is nothing to send (its PIN was wiped, or its
    /// challenge no longer wants it).
    Empty,
    /// Ours, with the body as it is now.
    Held(Vec<u8>),
}

impl Worker {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let worked = match self.run_once().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox pass failed");
                    false
                }
            };
            if worked {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Claims one batch and sends it; returns how many were claimed.
    pub async fn run_once(&self) -> StoreResult<usize> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(now).await?;
        let backend = tx.backend();
        let batch = messages::claim_due(tx.conn(), backend, now, self.lease_ms, BATCH).await?;
        tx.commit().await?;
        let n = batch.len();
        for m in batch {
            self.deliver(m).await?;
        }
        Ok(n)
    }

    async fn deliver(&self, m: MessageRow) -> StoreResult<()> {
        let held = self.clock.now_ms() + self.lease_ms;
        let sealed = match self.renew(&m, held).await? {
            Lease::Lost => {
                tracing::info!(message_id = %m.id, "lease lost to another worker; not sending");
                return Ok(());
            }
            Lease::Empty => return self.cancel(&m, held).await,
            Lease::Held(sealed) => sealed,
        };
        let result = self.send(&m, &sealed).await;
        // One instant for the outcome and its record: a retry is due
        // exactly its backoff after the attempt is recorded.
        let now = self.clock.now_ms();
        let outcome = self.outcome(&m, result, now);
        let Some(early_failure) = self.record(&m, held, &outcome, now).await? else {
            tracing::info!(message_id = %m.id, "lease lost to another worker; outcome not recorded");
            return Ok(());
        };
        self.count(&m, outcome.status);
        let failed_for_good = outcome.status.failed_for_good() || early_failure;
        if failed_for_good
            && m.kind == MessageKind::Pin
            && let (Some(hook), Some(challenge)) = (&self.on_pin_failed, &m.challenge_id)
        {
            hook(challenge.clone(), m.channel).await;
        }
        Ok(())
    }

    /// Messages of a batch wait for the sends before them: takes the lease
    /// again (and the body as it is now) or leaves the message alone.
    async fn renew(&self, m: &MessageRow, held: Millis) -> StoreResult<Lease> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(now).await?;
        let renewed = match m.lease_until {
            Some(claimed) => messages::renew_lease(tx.conn(), &m.id, claimed, held, now).await?,
            None => None,
        };
        let lease = match renewed {
            None => Lease::Lost,
            Some(None) => Lease::Empty,
            // A PIN whose challenge has expired (a long Retry-After, a long
            // outage) would only confuse the caller: send nothing.
            Some(Some(_)) if !self.still_wanted(&mut tx, m, now).await? => Lease::Empty,
            Some(Some(sealed)) => Lease::Held(sealed),
        };
        tx.commit().await?;
        Ok(lease)
    }

    async fn still_wanted(
        &self,
        tx: &mut WriteTx,
        m: &MessageRow,
        now: Millis,
    ) -> StoreResult<bool> {
        let (MessageKind::Pin, Some(challenge)) = (m.kind, m.challenge_id.as_deref()) else {
            return Ok(true);
        };
        Ok(challenges::get_on(tx.conn(), challenge)
            .await?
            .is_some_and(|c| c.model().wants_pin(now)))
    }

    /// The challenge ended (its PIN wiped) while this waited.
    async fn cancel(&self, m: &MessageRow, held: Millis) -> StoreResult<()> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(now).await?;
        let reason = Some("the challenge ended before it was sent");
        messages::finish(
            tx.conn(),
            &m.id,
            held,
            MessageStatus::Cancelled,
            None,
            reason,
            None,
            now,
        )
        .await?;
        tx.commit().await
    }

    async fn send(&self, m: &MessageRow, sealed: &[u8]) -> Result<Option<String>, SendError> {
        let body = self
            .sealer
            .open(sealed, &m.id)
            .map_err(|e| SendError::Permanent(FailureReason::new(e.to_string())))?;
        let body = body.expose_secret();
        match m.channel {
            Channel::Email => {
                self.senders
                    .email
                    .send(&m.id, &m.destination, &m.subject, body)
                    .await
            }
            Channel::Sms => self.senders.sms.send(&m.id, &m.destination, body).await,
        }
    }

    /// What a send's result means for the message: sent, retried later
    /// (with backoff, never before the provider's Retry-After), dead once
    /// the retries are spent, or failed.
    fn outcome(
        &self,
        m: &MessageRow,
        result: Result<Option<String>, SendError>,
        now: Millis,
    ) -> SendOutcome {
        let done = |status, provider_id, reason: Option<String>| SendOutcome {
            status,
            provider_id,
            reason,
            next_attempt_at: None,
        };
        match result {
            Ok(provider_id) => done(MessageStatus::Sent, provider_id, None),
            Err(SendError::Transient(reason) | SendError::Throttled(reason, _))
                if m.attempts >= self.max_attempts =>
            {
                done(MessageStatus::Dead, None, Some(reason.as_str().to_string()))
            }
            Err(SendError::Transient(reason)) => self.retry(m, now, reason.as_str().to_string(), 0),
            Err(SendError::Throttled(reason, asked)) => {
                self.retry(m, now, reason.as_str().to_string(), asked)
            }
            Err(SendError::Permanent(reason)) => done(
                MessageStatus::Failed,
                None,
                Some(reason.as_str().to_string()),
            ),
        }
    }

    fn retry(&self, m: &MessageRow, now: Millis, reason: String, asked_ms: i64) -> SendOutcome {
        let unit: f64 = rand::rng().random_range(0.0..=1.0);
        let backoff = backoff_ms(m.attempts, self.backoff_base_ms, self.backoff_cap_ms, unit);
        SendOutcome {
            status: MessageStatus::Queued,
            provider_id: None,
            reason: Some(reason),
            next_attempt_at: Some(now + backoff.max(asked_ms)),
        }
    }

    /// Records the outcome while we still hold the lease, with its audit
    /// event, and applies a delivery report that came in before this
    /// commit. `None` if the lease was lost (nothing recorded); else
    /// whether an early report said the message failed.
    async fn record(
        &self,
        m: &MessageRow,
        held: Millis,
        o: &SendOutcome,
        now: Millis,
    ) -> StoreResult<Option<bool>> {
        let mut tx = self.store.begin(now).await?;
        let provider_id = o.provider_id.as_deref();
        // A delivery report for this id may be on its way in: take turns
        // with it, so one of the two sees the other's commit.
        if let Some(pid) = provider_id {
            tx.serialize_on(LockSpace::ProviderMessage, pid).await?;
        }
        // Only the lease holder records an outcome: a worker that was
        // overtaken leaves the message to the one that took it.
        let reason = o.reason.as_deref();
        if !messages::finish(
            tx.conn(),
            &m.id,
            held,
            o.status,
            provider_id,
            reason,
            o.next_attempt_at,
            now,
        )
        .await?
        {
            return Ok(None);
        }
        tx.audit(sent_event(m, o));
        let mut early_failure = false;
        if o.status == MessageStatus::Sent
            && let Some(pid) = provider_id
            && let Some((outcome, error_code)) = messages::take_early_report(tx.conn(), pid).await?
        {
            let report = DeliveryReport {
                provider_message_id: pid.to_string(),
                outcome,
                provider_status: outcome.as_str().to_string(),
                error_code,
            };
            early_failure = reports::apply(&mut tx, &report, "system")
                .await?
                .is_some_and(|moved| moved.status.failed_for_good());
        }
        tx.commit().await?;
        Ok(Some(early_failure))
    }

    fn count(&self, m: &MessageRow, status: MessageStatus) {
        let metric_outcome = match status {
            MessageStatus::Queued => "retry",
            other => other.as_str(),
        };
        metrics::counter!("pingate_messages_total", "channel" => m.channel.as_str(), "outcome" => metric_outcome)
            .increment(1);
        if status == MessageStatus::Sent || status.failed_for_good() {
            metrics::histogram!("pingate_message_attempts", "channel" => m.channel.as_str())
                .record(m.attempts as f64);
        }
    }
}

/// The audit event of one send's outcome.
fn sent_event(m: &MessageRow, o: &SendOutcome) -> NewEvent {
    let (kind, outcome) = match o.status {
        MessageStatus::Sent => (EventKind::MessageSent, Outcome::Success),
        MessageStatus::Queued => (EventKind::MessageRetry, Outcome::Failure),
        _ => (EventKind::MessageFailed, Outcome::Failure),
    };
    let mut ev = NewEvent::new(kind, "system", outcome)
        .org(&m.org_id)
        .detail("message_id", m.id.as_str())
        .detail("channel", m.channel.as_str())
        .detail("attempt", m.attempts);
    if let Some(c) = &m.call_id {
        ev = ev.call(c);
    }
    if let Some(c) = &m.challenge_id {
        ev = ev.challenge(c);
    }
    if let Some(reason) = &o.reason {
        ev = ev.detail("reason", reason.as_str());
    }
    if matches!(o.status, MessageStatus::Dead | MessageStatus::Failed) {
        ev = ev.detail("final", o.status.as_str());
    }
    ev
}

#[cfg(test)]
mod tests;
