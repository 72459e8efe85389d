//! PIN challenges. A step the domain model chose is applied here as one
//! conditional UPDATE whose WHERE is the step's guard: the database, not
//! the process, holds the budget, so concurrent requests cannot race it.

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::StoreResult;
use crate::clock::Millis;
use crate::domain::challenge::{Budget, Challenge, Guard, Step, Ttl};
use crate::domain::org::Channel;
use crate::domain::verification::ChallengeStatus;

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ChallengeRow {
    pub id: String,
    pub call_id: String,
    pub org_id: String,
    pub caller_e164: Option<String>,
    pub agent: String,
    pub channel: Channel,
    pub destination: String,
    pub pin_hash: String,
    pub status: ChallengeStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub sends: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
}

impl ChallengeRow {
    /// The row as the state machine sees it.
    pub fn model(&self) -> Challenge {
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        Challenge {
            status: self.status,
            attempts: count(self.attempts),
            max_attempts: count(self.max_attempts),
            sends: count(self.sends),
            expires_at: self.expires_at,
        }
    }
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
    .bind(c.channel)
    .bind(&c.destination)
    .bind(&c.pin_hash)
    .bind(c.status)
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
    let row: (Option<i64>,) =
        sqlx::query_as("SELECT MAX(attempts) FROM challenges WHERE call_id = $1 AND status <> $2")
            .bind(call_id)
            .bind(ChallengeStatus::Approved)
            .fetch_one(conn)
            .await?;
    Ok(row.0.unwrap_or(0))
}

/// The pending challenges of a call, read inside the caller's transaction.
pub async fn pending_for_call(
    conn: &mut AnyConnection,
    call_id: &str,
) -> StoreResult<Vec<ChallengeRow>> {
    Ok(sqlx::query_as::<_, ChallengeRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM challenges WHERE call_id = $1 AND status = $2 ORDER BY created_at, id"
    )))
    .bind(call_id)
    .bind(ChallengeStatus::Pending)
    .fetch_all(conn)
    .await?)
}

/// A challenge read inside the caller's transaction.
pub async fn get_on(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<ChallengeRow>> {
    Ok(
        sqlx::query_as::<_, ChallengeRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM challenges WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(conn)
        .await?,
    )
}

/// The counters of a challenge after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Counters {
    pub attempts: i64,
    pub max_attempts: i64,
    pub sends: i64,
}

/// Applies `step` if the row satisfies the step's guard at `now`, in one
/// statement. Returns the counters after it, or `None` if the guard did
/// not hold (another request got there first, or the model's copy was
/// stale) and nothing changed.
pub async fn apply(
    conn: &mut AnyConnection,
    id: &str,
    step: Step,
    now: Millis,
) -> StoreResult<Option<Counters>> {
    let guard = step.guard(now);
    let sql = step_sql(step, &guard);
    let mut q = sqlx::query_as::<_, Counters>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(now)
        .bind(guard.status);
    if let Some(target) = step.target() {
        q = q.bind(target);
    }
    if let Some(n) = guard.sends_below {
        q = q.bind(i64::from(n));
    }
    Ok(q.fetch_optional(conn).await?)
}

/// The UPDATE for a step: `$1` id, `$2` now, `$3` the guard's status, then
/// the target status and the send limit when the step has them. Built from
/// fixed fragments only.
fn step_sql(step: Step, guard: &Guard) -> String {
    let mut n = 3;
    let mut next = || {
        n += 1;
        n
    };
    let set = match step {
        Step::ReserveAttempt => "attempts = attempts + 1".to_string(),
        Step::ReserveSend { .. } => "sends = sends + 1".to_string(),
        _ => format!("status = ${}, decided_at = $2", next()),
    };
    let mut sql = format!("UPDATE challenges SET {set} WHERE id = $1 AND status = $3");
    match guard.ttl {
        Some(Ttl::Running(_)) => sql.push_str(" AND expires_at > $2"),
        Some(Ttl::Passed(_)) => sql.push_str(" AND expires_at <= $2"),
        None => {}
    }
    match guard.budget {
        Some(Budget::Left) => sql.push_str(" AND attempts < max_attempts"),
        Some(Budget::Spent) => sql.push_str(" AND attempts >= max_attempts"),
        None => {}
    }
    if guard.sends_below.is_some() {
        sql.push_str(&format!(" AND sends < ${}", next()));
    }
    // Every statement names $2; those without a TTL in the guard set it.
    sql.push_str(" RETURNING attempts, max_attempts, sends");
    sql
}

/// Stores the sealed PIN of a new challenge.
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
        sqlx::query_as("SELECT pin_sealed FROM challenges WHERE id = $1 AND status = $2")
            .bind(id)
            .bind(ChallengeStatus::Pending)
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
