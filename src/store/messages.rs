//! The outbox: messages queued in the same transaction as the change that
//! causes them, claimed by workers with a lease, and moved forward only.

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::{Backend, StoreResult};
use crate::clock::Millis;
use crate::domain::message::{DeliveryOutcome, MessageKind, MessageStatus};
use crate::domain::org::Channel;

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct MessageRow {
    pub id: String,
    pub kind: MessageKind,
    pub channel: Channel,
    pub org_id: String,
    pub call_id: Option<String>,
    pub challenge_id: Option<String>,
    pub grant_id: Option<String>,
    pub destination: String,
    pub destination_masked: String,
    pub subject: String,
    pub body_sealed: Option<Vec<u8>>,
    pub status: MessageStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, kind, channel, org_id, call_id, challenge_id, grant_id, destination, \
    destination_masked, subject, body_sealed, status, attempts, next_attempt_at, lease_until, \
    provider_message_id, last_error, created_at, updated_at";

pub async fn insert(conn: &mut AnyConnection, m: &MessageRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO messages (id, kind, channel, org_id, call_id, challenge_id, grant_id, destination, \
         destination_masked, subject, body_sealed, status, attempts, next_attempt_at, lease_until, \
         provider_message_id, last_error, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(&m.id)
    .bind(m.kind)
    .bind(m.channel)
    .bind(&m.org_id)
    .bind(&m.call_id)
    .bind(&m.challenge_id)
    .bind(&m.grant_id)
    .bind(&m.destination)
    .bind(&m.destination_masked)
    .bind(&m.subject)
    .bind(&m.body_sealed)
    .bind(m.status)
    .bind(m.attempts)
    .bind(m.next_attempt_at)
    .bind(m.lease_until)
    .bind(&m.provider_message_id)
    .bind(&m.last_error)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` due messages for `lease_ms`: queued ones whose
/// time has come, and `sending` ones whose lease ran out (a worker died).
/// PostgreSQL skips rows another instance holds; SQLite has one writer.
/// The batch comes back in the order it fell due (RETURNING follows the
/// update's scan, not the subquery's ORDER BY).
pub async fn claim_due(
    conn: &mut AnyConnection,
    backend: Backend,
    now: Millis,
    lease_ms: i64,
    limit: i64,
) -> StoreResult<Vec<MessageRow>> {
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let mut batch = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE messages SET status = $4, attempts = attempts + 1, lease_until = $2, updated_at = $1 \
         WHERE id IN (SELECT id FROM messages \
                      WHERE (status = $5 AND next_attempt_at <= $1) \
                         OR (status = $4 AND lease_until < $1) \
                      ORDER BY next_attempt_at LIMIT $3 {lock}) \
         RETURNING {COLUMNS}"
    )))
    .bind(now)
    .bind(now + lease_ms)
    .bind(limit)
    .bind(MessageStatus::Sending)
    .bind(MessageStatus::Queued)
    .fetch_all(conn)
    .await?;
    batch.sort_by(|a, b| {
        (a.next_attempt_at, a.created_at, &a.id).cmp(&(b.next_attempt_at, b.created_at, &b.id))
    });
    Ok(batch)
}

/// The earliest time a queued message falls due, to sleep until then.
pub async fn next_due(pool: &AnyPool) -> StoreResult<Option<i64>> {
    let row: (Option<i64>,) =
        sqlx::query_as("SELECT MIN(next_attempt_at) FROM messages WHERE status = $1")
            .bind(MessageStatus::Queued)
            .fetch_one(pool)
            .await?;
    Ok(row.0)
}

/// Extends the lease of a message we claimed, right before sending it:
/// `held` is the `lease_until` we set (it doubles as the claim's token).
/// A worker sends a batch one message after another, so a slow relay can
/// outlast the lease of the messages still waiting and another instance
/// may claim them. Returns `None` when the lease is no longer ours (send
/// nothing), else the message's current sealed body (`None` once wiped).
pub async fn renew_lease(
    conn: &mut AnyConnection,
    id: &str,
    held: Millis,
    until: Millis,
    now: Millis,
) -> StoreResult<Option<Option<Vec<u8>>>> {
    let row: Option<(Option<Vec<u8>>,)> = sqlx::query_as(
        "UPDATE messages SET lease_until = $3, updated_at = $4 \
         WHERE id = $1 AND status = $5 AND lease_until = $2 RETURNING body_sealed",
    )
    .bind(id)
    .bind(held)
    .bind(until)
    .bind(now)
    .bind(MessageStatus::Sending)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Records the outcome of a send we hold the lease for (`held`, as set by
/// the claim or [`renew_lease`]); returns false, changing nothing, when
/// another worker took the message over. A PIN's sealed body stays while
/// its challenge is pending (a resend delivers the same PIN);
/// `wipe_for_challenge` removes it when the challenge ends.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    conn: &mut AnyConnection,
    id: &str,
    held: Millis,
    status: MessageStatus,
    provider_message_id: Option<&str>,
    error: Option<&str>,
    next_attempt_at: Option<Millis>,
    now: Millis,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE messages SET status = $2, provider_message_id = COALESCE($3, provider_message_id), \
         last_error = $4, next_attempt_at = COALESCE($5, next_attempt_at), lease_until = NULL, updated_at = $6, \
         body_sealed = CASE WHEN kind = $9 OR $10 THEN body_sealed ELSE NULL END \
         WHERE id = $1 AND status = $8 AND lease_until = $7",
    )
    .bind(id)
    .bind(status)
    .bind(provider_message_id)
    .bind(error)
    .bind(next_attempt_at)
    .bind(now)
    .bind(held)
    .bind(MessageStatus::Sending)
    .bind(MessageKind::Pin)
    .bind(status.awaits_sending())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A PIN is useless once its challenge ends: wipe every sealed copy (the
/// challenge's and its queued messages') and stop anything not yet sent.
pub async fn wipe_for_challenge(
    conn: &mut AnyConnection,
    challenge_id: &str,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query("UPDATE challenges SET pin_sealed = NULL WHERE id = $1")
        .bind(challenge_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE messages SET body_sealed = NULL, updated_at = $2, \
         status = CASE WHEN status = $3 THEN $4 ELSE status END \
         WHERE challenge_id = $1 AND kind = $5 AND body_sealed IS NOT NULL",
    )
    .bind(challenge_id)
    .bind(now)
    .bind(MessageStatus::Queued)
    .bind(MessageStatus::Cancelled)
    .bind(MessageKind::Pin)
    .execute(conn)
    .await?;
    Ok(())
}

/// The channels a challenge's PIN was queued on so far.
pub async fn pin_channels_for_challenge(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> StoreResult<Vec<Channel>> {
    let rows: Vec<(Channel,)> = sqlx::query_as(
        "SELECT DISTINCT channel FROM messages WHERE challenge_id = $1 AND kind = $2",
    )
    .bind(challenge_id)
    .bind(MessageKind::Pin)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn for_call(pool: &AnyPool, call_id: &str) -> StoreResult<Vec<MessageRow>> {
    Ok(sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM messages WHERE call_id = $1 ORDER BY created_at, id"
    )))
    .bind(call_id)
    .fetch_all(pool)
    .await?)
}

pub async fn get(pool: &AnyPool, id: &str) -> StoreResult<Option<MessageRow>> {
    Ok(sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM messages WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// A provider's delivery report, applied only forward: `sent` may become
/// `target` (delivered, undelivered or failed); nothing moves back, and a
/// repeated or late report changes nothing. Returns the message when it
/// moved.
pub async fn advance_provider_status(
    conn: &mut AnyConnection,
    provider_message_id: &str,
    target: MessageStatus,
    error_code: Option<&str>,
    now: Millis,
) -> StoreResult<Option<MessageRow>> {
    Ok(sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE messages SET status = $2, last_error = COALESCE($3, last_error), updated_at = $4 \
         WHERE provider_message_id = $1 AND status = $5 RETURNING {COLUMNS}"
    )))
    .bind(provider_message_id)
    .bind(target)
    .bind(error_code.map(|c| format!("provider error {c}")))
    .bind(now)
    .bind(MessageStatus::Sent)
    .fetch_optional(conn)
    .await?)
}

/// (messages waiting, age in ms of the oldest one) for the metrics.
pub async fn queue_depth(pool: &AnyPool, now: Millis) -> StoreResult<(i64, i64)> {
    let row: (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM messages WHERE status IN ($1, $2)")
            .bind(MessageStatus::Queued)
            .bind(MessageStatus::Sending)
            .fetch_one(pool)
            .await?;
    Ok((row.0, row.1.map_or(0, |t| (now - t).max(0))))
}

/// Keeps a delivery report for a message id we have not recorded yet
/// (the provider called back before our commit). Returns false when the
/// id belongs to a known message (the report was simply not applicable).
pub async fn keep_early_report(
    conn: &mut AnyConnection,
    provider_message_id: &str,
    outcome: DeliveryOutcome,
    error_code: Option<&str>,
    now: Millis,
) -> StoreResult<bool> {
    let known: Option<(String,)> =
        sqlx::query_as("SELECT id FROM messages WHERE provider_message_id = $1")
            .bind(provider_message_id)
            .fetch_optional(&mut *conn)
            .await?;
    if known.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO early_delivery_reports (provider_message_id, status, error_code, received_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (provider_message_id) DO NOTHING",
    )
    .bind(provider_message_id)
    .bind(outcome.as_str())
    .bind(error_code)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Takes (and forgets) a report that arrived before the send was
/// recorded: (neutral outcome, error code). A row kept by an older
/// version in a provider's own words is dropped unread.
pub async fn take_early_report(
    conn: &mut AnyConnection,
    provider_message_id: &str,
) -> StoreResult<Option<(DeliveryOutcome, Option<String>)>> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "DELETE FROM early_delivery_reports WHERE provider_message_id = $1 RETURNING status, error_code",
    )
    .bind(provider_message_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(status, code)| DeliveryOutcome::parse(&status).map(|o| (o, code))))
}
