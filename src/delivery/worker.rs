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

use super::{FailureReason, Sealer, SendError, Senders};
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::Clock;
use crate::store::challenges;
use crate::store::messages::{self, MessageRow};
use crate::store::{LockSpace, Store, StoreResult};

const BATCH: i64 = 16;

/// Called after a PIN message failed for good (for the fallback channel):
/// (challenge id, channel that failed).
pub type PinFailedHook = Arc<dyn Fn(String, String) -> BoxFuture<'static, ()> + Send + Sync>;

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
        // Messages of a batch wait for the sends before them: take the lease
        // again (and the body as it is now) or leave the message alone.
        let now = self.clock.now_ms();
        let held = now + self.lease_ms;
        let mut tx = self.store.begin(now).await?;
        let mut renewed = match m.lease_until {
            Some(claimed) => messages::renew_lease(tx.conn(), &m.id, claimed, held, now).await?,
            None => None,
        };
        // A PIN whose challenge has expired (a long Retry-After, a long
        // outage) would only confuse the caller: send nothing.
        if let (Some(Some(_)), "pin", Some(challenge)) =
            (&renewed, m.kind.as_str(), m.challenge_id.as_deref())
            && !challenges::wants_pin(tx.conn(), challenge, now).await?
        {
            renewed = Some(None);
        }
        tx.commit().await?;
        let Some(body_sealed) = renewed else {
            tracing::info!(message_id = %m.id, "lease lost to another worker; not sending");
            return Ok(());
        };
        let Some(sealed) = body_sealed else {
            // The challenge ended (its PIN wiped) while this waited.
            let now = self.clock.now_ms();
            let mut tx = self.store.begin(now).await?;
            let reason = Some("the challenge ended before it was sent");
            messages::finish(tx.conn(), &m.id, held, "cancelled", None, reason, None, now).await?;
            return tx.commit().await;
        };
        let result = match self.sealer.open(&sealed, &m.id) {
            Err(e) => Err(SendError::Permanent(FailureReason::new(e.to_string()))),
            Ok(body) => {
                let body = body.expose_secret();
                match m.channel.as_str() {
                    "email" => {
                        self.senders
                            .email
                            .send(&m.id, &m.destination, &m.subject, body)
                            .await
                    }
                    "sms" => self.senders.sms.send(&m.id, &m.destination, body).await,
                    other => Err(SendError::Permanent(FailureReason::new(format!(
                        "unknown channel {other}"
                    )))),
                }
            }
        };
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(now).await?;
        let event = |kind, outcome| {
            let mut e = NewEvent::new(kind, "system", outcome)
                .org(&m.org_id)
                .detail("message_id", m.id.as_str())
                .detail("channel", m.channel.as_str())
                .detail("attempt", m.attempts);
            if let Some(c) = &m.call_id {
                e = e.call(c);
            }
            if let Some(c) = &m.challenge_id {
                e = e.challenge(c);
            }
            e
        };
        let retry = matches!(
            result,
            Err(SendError::Transient(_) | SendError::Throttled(..))
        ) && m.attempts < self.max_attempts;
        let (status, provider_id, reason, next) = match &result {
            Ok(provider_id) => ("sent", provider_id.as_deref(), None, None),
            Err(SendError::Transient(reason) | SendError::Throttled(reason, _)) if retry => {
                let unit: f64 = rand::rng().random_range(0.0..=1.0);
                let backoff =
                    backoff_ms(m.attempts, self.backoff_base_ms, self.backoff_cap_ms, unit);
                let asked = match &result {
                    Err(SendError::Throttled(_, ms)) => *ms,
                    _ => 0,
                };
                (
                    "queued",
                    None,
                    Some(reason.as_str()),
                    Some(now + backoff.max(asked)),
                )
            }
            Err(SendError::Transient(reason) | SendError::Throttled(reason, _)) => {
                ("dead", None, Some(reason.as_str()), None)
            }
            Err(SendError::Permanent(reason)) => ("failed", None, Some(reason.as_str()), None),
        };
        // A delivery report for this id may be on its way in: take turns
        // with it, so one of the two sees the other's commit.
        if let Some(pid) = provider_id {
            tx.serialize_on(LockSpace::ProviderMessage, pid).await?;
        }
        // Only the lease holder records an outcome: a worker that was
        // overtaken leaves the message to the one that took it.
        if !messages::finish(
            tx.conn(),
            &m.id,
            held,
            status,
            provider_id,
            reason,
            next,
            now,
        )
        .await?
        {
            drop(tx);
            tracing::info!(message_id = %m.id, "lease lost to another worker; outcome not recorded");
            return Ok(());
        }
        let outcome = if status == "sent" {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        let kind = match status {
            "sent" => EventKind::MessageSent,
            "queued" => EventKind::MessageRetry,
            _ => EventKind::MessageFailed,
        };
        let mut ev = event(kind, outcome);
        if let Some(reason) = reason {
            ev = ev.detail("reason", reason);
        }
        if matches!(status, "dead" | "failed") {
            ev = ev.detail("final", status);
        }
        tx.audit(ev);
        // A delivery report may have come in before this commit.
        let mut early_failure = false;
        if status == "sent"
            && let Some(pid) = provider_id
            && let Some((moved, report)) = messages::apply_early_report(tx.conn(), pid, now).await?
        {
            early_failure = matches!(moved.status.as_str(), "undelivered" | "failed");
            tx.audit(
                event(
                    EventKind::MessageDeliveryReported,
                    if early_failure {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    },
                )
                .detail("provider_status", report),
            );
        }
        tx.commit().await?;
        let metric_outcome = if status == "queued" { "retry" } else { status };
        metrics::counter!("pingate_messages_total", "channel" => m.channel.clone(), "outcome" => metric_outcome)
            .increment(1);
        let failed_for_good = matches!(status, "dead" | "failed") || early_failure;
        if status == "sent" || failed_for_good {
            metrics::histogram!("pingate_message_attempts", "channel" => m.channel.clone())
                .record(m.attempts as f64);
        }
        if failed_for_good
            && m.kind == "pin"
            && let (Some(hook), Some(challenge)) = (&self.on_pin_failed, &m.challenge_id)
        {
            hook(challenge.clone(), m.channel.clone()).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert_eq!(backoff_ms(1, 1000, 60_000, 1.0), 1000);
        assert_eq!(backoff_ms(3, 1000, 60_000, 1.0), 4000);
        assert_eq!(backoff_ms(20, 1000, 60_000, 1.0), 60_000);
        assert_eq!(backoff_ms(3, 1000, 60_000, 0.5), 2000);
        assert_eq!(backoff_ms(3, 1000, 60_000, 0.0), 0);
        assert_eq!(backoff_ms(99, i64::MAX / 2, 60_000, 1.0), 60_000);
    }
}
