//! Access grants; the token itself is never stored, only its hash.

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::StoreResult;
use crate::clock::Millis;
use crate::domain::verification::GrantBasis;

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct GrantRow {
    pub id: String,
    pub agent: String,
    pub org_id: String,
    pub call_id: String,
    pub challenge_id: Option<String>,
    pub basis: GrantBasis,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
}

const COLUMNS: &str = "id, agent, org_id, call_id, challenge_id, basis, created_at, expires_at, revoked_at, revoked_by";

/// Inserts the grant unless the agent already holds an open grant on the
/// call (the unique index `grants_one_open_per_call_agent` decides, so
/// concurrent inserts on either engine leave one). False when one exists.
pub async fn insert(
    conn: &mut AnyConnection,
    g: &GrantRow,
    token_hash: &[u8; 32],
) -> StoreResult<bool> {
    let r = sqlx::query(
        "INSERT INTO grants (id, token_hash, agent, org_id, call_id, challenge_id, basis, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (call_id, agent) WHERE revoked_at IS NULL AND closed_at IS NULL DO NOTHING",
    )
    .bind(&g.id)
    .bind(token_hash.to_vec())
    .bind(&g.agent)
    .bind(&g.org_id)
    .bind(&g.call_id)
    .bind(&g.challenge_id)
    .bind(g.basis)
    .bind(g.created_at)
    .bind(g.expires_at)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Closes the agent's expired grants on the call, so they give up the
/// (call, agent) slot to a new one.
pub async fn close_expired(
    conn: &mut AnyConnection,
    call_id: &str,
    agent: &str,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE grants SET closed_at = $3 WHERE call_id = $1 AND agent = $2 \
         AND revoked_at IS NULL AND closed_at IS NULL AND expires_at <= $3",
    )
    .bind(call_id)
    .bind(agent)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The grant holding the agent's (call, agent) slot, if any.
pub async fn open_for(
    conn: &mut AnyConnection,
    call_id: &str,
    agent: &str,
) -> StoreResult<Option<GrantRow>> {
    Ok(sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM grants WHERE call_id = $1 AND agent = $2 \
         AND revoked_at IS NULL AND closed_at IS NULL"
    )))
    .bind(call_id)
    .bind(agent)
    .fetch_optional(conn)
    .await?)
}

/// Revokes every unrevoked, unexpired grant of `agent` (issued before
/// `issued_before`, when given) and returns them.
pub async fn revoke_for_agent(
    conn: &mut AnyConnection,
    agent: &str,
    by: &str,
    now: Millis,
    issued_before: Option<Millis>,
) -> StoreResult<Vec<GrantRow>> {
    Ok(sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE grants SET revoked_at = $2, revoked_by = $3 \
         WHERE agent = $1 AND revoked_at IS NULL AND expires_at > $2 AND created_at < $4 \
         RETURNING {COLUMNS}"
    )))
    .bind(agent)
    .bind(now)
    .bind(by)
    .bind(issued_before.unwrap_or(i64::MAX))
    .fetch_all(conn)
    .await?)
}

/// Revokes `agent`'s open, unexpired grants on one call and returns them.
pub async fn revoke_on_call(
    conn: &mut AnyConnection,
    call_id: &str,
    agent: &str,
    by: &str,
    now: Millis,
) -> StoreResult<Vec<GrantRow>> {
    Ok(sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE grants SET revoked_at = $3, revoked_by = $4 \
         WHERE call_id = $1 AND agent = $2 AND revoked_at IS NULL AND closed_at IS NULL \
         AND expires_at > $3 RETURNING {COLUMNS}"
    )))
    .bind(call_id)
    .bind(agent)
    .bind(now)
    .bind(by)
    .fetch_all(conn)
    .await?)
}

pub async fn get(pool: &AnyPool, id: &str) -> StoreResult<Option<GrantRow>> {
    Ok(sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM grants WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub async fn by_token_hash(pool: &AnyPool, hash: &[u8; 32]) -> StoreResult<Option<GrantRow>> {
    Ok(sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM grants WHERE token_hash = $1"
    )))
    .bind(hash.to_vec())
    .fetch_optional(pool)
    .await?)
}

pub async fn for_call(pool: &AnyPool, call_id: &str) -> StoreResult<Vec<GrantRow>> {
    Ok(sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM grants WHERE call_id = $1 ORDER BY created_at, id"
    )))
    .bind(call_id)
    .fetch_all(pool)
    .await?)
}

/// Revokes an unrevoked grant; false if it was already revoked.
pub async fn revoke(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    now: Millis,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE grants SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}
