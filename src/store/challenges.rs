//! PIN challenges. Every rule that concurrent requests could race is one
//! conditional UPDATE here: the database, not the process, holds the budget.

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::StoreResult;
use crate::clock::Millis;

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ChallengeRow {
    pub id: String,
    pub call_id: String,
    pub org_id: String,
    pub caller_e164: Option<String>,
    pub agent: String,
    pub channel: String,
    pub destination: String,
    pub pin_hash: String,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub sends: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
}

const COLUMNS: &str = "id, call_id, org_id, caller_e164, agent, channel, destination, pin_hash, status, \
    attempts, max_attempts, sends, created_at, expires_at, decided_at";

pub async fn insert(conn: &mut AnyConnection, c: &ChallengeRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO challenges (id, call_id, org_id, caller_e164, agent, channel, destination, pin_hash, \
         status, attempts, max_attempts, sends, created_at, expires_at, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&c.id)
    .bind(&c.call_id)
    .bind(&c.org_id)
    .bind(&c.caller_e164)
    .bind(&c.agent)
    .bind(&c.channel)
    .bind(&c.destination)
    .bind(&c.pin_hash)
    .bind(&c.status)
    .bind(c.attempts)
    .bind(c.max_attempts)
    .bind(c.sends)
    .bind(c.created_at)
    .bind(c.expires_at)
    .bind(c.decided_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(pool: &AnyPool, id: &str) -> StoreResult<Option<ChallengeRow>> {
    Ok(
        sqlx::query_as::<_, ChallengeRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM challenges WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(pool)
        .await?,
    )
}

pub async fn for_call(pool: &AnyPool, call_id: &str) -> StoreResult<Vec<ChallengeRow>> {
    Ok(
        sqlx::query_as::<_, ChallengeRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM challenges WHERE call_id = $1 ORDER BY created_at, id"
        )))
        .bind(call_id)
        .fetch_all(pool)
        .await?,
    )
}

/// Failed attempts already spent on this call: a new challenge inherits
/// them, so asking for another PIN never resets the budget.
pub async fn attempts_spent_on_call(conn: &mut AnyConnection, call_id: &str) -> StoreResult<i64> {
    let row: (Option<i64>,) = sqlx::query_as(
        "SELECT MAX(attempts) FROM challenges WHERE call_id = $1 AND status <> 'approved'",
    )
    .bind(call_id)
    .fetch_one(conn)
    .await?;
    Ok(row.0.unwrap_or(0))
}

/// Ends every pending challenge of a call; returns their ids.
pub async fn end_pending_for_call(
    conn: &mut AnyConnection,
    call_id: &str,
    to_status: &str,
    now: Millis,
) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "UPDATE challenges SET status = $2, decided_at = $3 WHERE call_id = $1 AND status = 'pending' RETURNING id",
    )
    .bind(call_id)
    .bind(to_status)
    .bind(now)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Reserves one attempt: succeeds only while pending, unexpired and within
/// budget. Returns (attempts used, budget).
pub async fn reserve_attempt(
    conn: &mut AnyConnection,
    id: &str,
    now: Millis,
) -> StoreResult<Option<(i64, i64)>> {
    Ok(sqlx::query_as(
        "UPDATE challenges SET attempts = attempts + 1 \
         WHERE id = $1 AND status = 'pending' AND attempts < max_attempts AND expires_at > $2 \
         RETURNING attempts, max_attempts",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(conn)
    .await?)
}

/// Moves a pending challenge to `to_status`; false if it was not pending
/// (so of two right answers only one approves).
pub async fn settle(
    conn: &mut AnyConnection,
    id: &str,
    to_status: &str,
    now: Millis,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE challenges SET status = $2, decided_at = $3 WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(to_status)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks a pending challenge whose TTL has passed as expired.
pub async fn expire_if_due(conn: &mut AnyConnection, id: &str, now: Millis) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE challenges SET status = 'expired', decided_at = $2 \
         WHERE id = $1 AND status = 'pending' AND expires_at <= $2",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Locks a pending challenge whose budget is spent.
pub async fn lock_if_exhausted(
    conn: &mut AnyConnection,
    id: &str,
    now: Millis,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE challenges SET status = 'locked', decided_at = $2 \
         WHERE id = $1 AND status = 'pending' AND attempts >= max_attempts",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Counts one more send while pending, unexpired and under `max_sends`.
pub async fn reserve_send(
    conn: &mut AnyConnection,
    id: &str,
    max_sends: i64,
    now: Millis,
) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE challenges SET sends = sends + 1 \
         WHERE id = $1 AND status = 'pending' AND sends < $2 AND expires_at > $3 RETURNING sends",
    )
    .bind(id)
    .bind(max_sends)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// Stores the sealed PIN of a new challenge.
/// Whether the challenge still wants its PIN delivered: pending and not
/// yet expired (expiry is otherwise only recorded when someone looks).
pub async fn wants_pin(conn: &mut AnyConnection, id: &str, now: Millis) -> StoreResult<bool> {
    Ok(sqlx::query(
        "SELECT 1 FROM challenges WHERE id = $1 AND status = 'pending' AND expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(conn)
    .await?
    .is_some())
}

pub async fn set_pin_sealed(conn: &mut AnyConnection, id: &str, sealed: &[u8]) -> StoreResult<()> {
    sqlx::query("UPDATE challenges SET pin_sealed = $2 WHERE id = $1")
        .bind(id)
        .bind(sealed.to_vec())
        .execute(conn)
        .await?;
    Ok(())
}

/// The sealed PIN of a challenge that is still pending.
pub async fn pin_sealed(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Vec<u8>>> {
    let row: Option<(Option<Vec<u8>>,)> =
        sqlx::query_as("SELECT pin_sealed FROM challenges WHERE id = $1 AND status = 'pending'")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|r| r.0))
}

/// A challenge the sweeper expired.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ExpiredChallenge {
    pub id: String,
    pub org_id: String,
    pub call_id: String,
}

/// Marks up to `batch` pending challenges whose TTL has passed as expired
/// and returns them. Conditional on `status = 'pending'`, so of several
/// instances sweeping at once each challenge is expired by one; on
/// PostgreSQL rows another transaction holds are skipped, not waited for.
pub async fn expire_due(
    conn: &mut AnyConnection,
    backend: super::Backend,
    now: Millis,
    batch: i64,
) -> StoreResult<Vec<ExpiredChallenge>> {
    let skip_locked = match backend {
        super::Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        super::Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE challenges SET status = 'expired', decided_at = $1 \
         WHERE status = 'pending' AND id IN (\
           SELECT id FROM challenges WHERE status = 'pending' AND expires_at <= $1 \
           ORDER BY expires_at LIMIT $2 {skip_locked}) \
         RETURNING id, org_id, call_id"
    );
    Ok(
        sqlx::query_as::<_, ExpiredChallenge>(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(batch)
            .fetch_all(conn)
            .await?,
    )
}
