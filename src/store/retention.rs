//! The purge: which rows the retention policy lets go, counted or deleted
//! in small batches, each batch its own short write transaction so the
//! single writer (SQLite) or the row locks (PostgreSQL) are never held long.

use std::time::Duration;

use sqlx::AnyPool;

use super::{Store, StoreResult};
use crate::clock::Millis;
use crate::domain::retention::Cutoffs;

/// What the purge removes, in the order it runs (children before the calls
/// they reference). Audit events, checkpoints, orgs and principals are
/// never purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purgeable {
    Messages,
    Grants,
    Challenges,
    Calls,
    Lockouts,
    WebhookReceipts,
    EarlyDeliveryReports,
    QuotaCounters,
    QuotaMembers,
    QuotaEvents,
}

impl Purgeable {
    pub const ALL: [Purgeable; 10] = [
        Purgeable::Messages,
        Purgeable::Grants,
        Purgeable::Challenges,
        Purgeable::Calls,
        Purgeable::Lockouts,
        Purgeable::WebhookReceipts,
        Purgeable::EarlyDeliveryReports,
        Purgeable::QuotaCounters,
        Purgeable::QuotaMembers,
        Purgeable::QuotaEvents,
    ];

    /// The table, which is also the name counts are reported under.
    pub fn table(self) -> &'static str {
        match self {
            Purgeable::Messages => "messages",
            Purgeable::Grants => "grants",
            Purgeable::Challenges => "challenges",
            Purgeable::Calls => "calls",
            Purgeable::Lockouts => "lockouts",
            Purgeable::WebhookReceipts => "webhook_receipts",
            Purgeable::EarlyDeliveryReports => "early_delivery_reports",
            Purgeable::QuotaCounters => "quota_counters",
            Purgeable::QuotaMembers => "quota_members",
            Purgeable::QuotaEvents => "quota_events",
        }
    }

    /// The primary key's columns.
    fn key(self) -> &'static str {
        match self {
            Purgeable::WebhookReceipts => "provider, key",
            Purgeable::EarlyDeliveryReports => "provider_message_id",
            Purgeable::QuotaCounters => "scope, key, window_start",
            Purgeable::QuotaMembers => "scope, key, window_start, member",
            _ => "id",
        }
    }

    /// Which rows may go. The cutoffs are integers computed by the domain,
    /// never input, so they are written into the SQL as literals (one text
    /// for both engines, whatever subset of them a statement needs).
    fn predicate(self, c: &Cutoffs) -> String {
        match self {
            // Only messages that reached a final status; queued and sending
            // ones are still pending.
            Purgeable::Messages => format!(
                "status NOT IN ('queued', 'sending') AND updated_at < {}",
                c.messages
            ),
            Purgeable::Grants => grant_gone(c, "grants"),
            Purgeable::Challenges => challenge_gone(c, "challenges"),
            // An ended call goes once nothing that is kept still points at it.
            Purgeable::Calls => format!(
                "status = 'ended' AND ended_at < {cut} \
                 AND NOT EXISTS (SELECT 1 FROM challenges ch WHERE ch.call_id = calls.id AND NOT ({ch})) \
                 AND NOT EXISTS (SELECT 1 FROM grants gr WHERE gr.call_id = calls.id AND NOT ({gr}))",
                cut = c.calls,
                ch = challenge_gone(c, "ch"),
                gr = grant_gone(c, "gr"),
            ),
            Purgeable::Lockouts => format!("until < {} AND until < {}", c.calls, c.now),
            Purgeable::WebhookReceipts => format!("received_at < {}", c.webhook_receipts),
            Purgeable::EarlyDeliveryReports => format!("received_at < {}", c.webhook_receipts),
            Purgeable::QuotaCounters | Purgeable::QuotaMembers => {
                format!("window_start < {}", c.quota_windows)
            }
            Purgeable::QuotaEvents => format!("at < {}", c.quota_windows),
        }
    }
}

/// A grant that expired (or was revoked) before the grants cutoff: never
/// one still in force, since the cutoff lies in the past.
fn grant_gone(c: &Cutoffs, t: &str) -> String {
    format!(
        "{t}.expires_at < {cut} AND {t}.expires_at < {now} \
         AND ({t}.revoked_at IS NULL OR {t}.revoked_at < {cut})",
        cut = c.grants,
        now = c.now
    )
}

/// A challenge whose life ended before the calls cutoff, with no PIN
/// message still waiting to be sent.
fn challenge_gone(c: &Cutoffs, t: &str) -> String {
    format!(
        "{t}.expires_at < {cut} AND {t}.expires_at < {now} \
         AND ({t}.decided_at IS NULL OR {t}.decided_at < {cut}) \
         AND NOT EXISTS (SELECT 1 FROM messages pm WHERE pm.challenge_id = {t}.id \
             AND pm.status IN ('queued', 'sending'))",
        cut = c.calls,
        now = c.now
    )
}

/// How many rows of `what` the policy lets go now.
pub async fn count(pool: &AnyPool, what: Purgeable, c: &Cutoffs) -> StoreResult<u64> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {}",
        what.table(),
        what.predicate(c)
    );
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes up to `limit` rows of `what` in one short transaction; returns
/// how many went.
pub async fn delete_batch(
    store: &Store,
    now: Millis,
    what: Purgeable,
    c: &Cutoffs,
    limit: u32,
) -> StoreResult<u64> {
    let sql = format!(
        "DELETE FROM {t} WHERE ({k}) IN (SELECT {k} FROM {t} WHERE {p} LIMIT {limit})",
        t = what.table(),
        k = what.key(),
        p = what.predicate(c),
    );
    let mut tx = store.begin(now).await?;
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(tx.conn())
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(done)
}

/// Deletes every row of `what` the policy lets go, batch by batch with a
/// pause in between; returns the total and the number of batches.
pub async fn delete_all(
    store: &Store,
    now: Millis,
    what: Purgeable,
    c: &Cutoffs,
    limit: u32,
    pause: Duration,
) -> StoreResult<(u64, u64)> {
    let (mut total, mut batches) = (0, 0);
    loop {
        let n = delete_batch(store, now, what, c, limit).await?;
        total += n;
        if n == 0 {
            return Ok((total, batches));
        }
        batches += 1;
        if n < u64::from(limit) {
            return Ok((total, batches));
        }
        tokio::time::sleep(pause).await;
    }
}
