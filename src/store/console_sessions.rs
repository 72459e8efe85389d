//! Console sessions: the SHA-256 of each browser's session token, its
//! principal and times. Expiry is decided in the query, so every instance
//! sharing the database agrees on it.

use sqlx::{AnyConnection, AnyPool, Row};

use super::{StoreError, StoreResult};
use crate::clock::Millis;
use crate::store::principals::{Principal, Role};

pub async fn insert(
    conn: &mut AnyConnection,
    token_hash: &[u8; 32],
    principal_id: &str,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO console_sessions (token_hash, principal_id, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $3)",
    )
    .bind(token_hash.to_vec())
    .bind(principal_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The live session's principal (enabled), or None when the session is
/// unknown, ended, idle since `idle_since` or begun before `born_after`.
pub async fn live(
    pool: &AnyPool,
    token_hash: &[u8; 32],
    idle_since: Millis,
    born_after: Millis,
) -> StoreResult<Option<(Principal, Millis)>> {
    let row = sqlx::query(
        "SELECT p.id, p.name, p.role, s.last_seen_at FROM console_sessions s \
         JOIN principals p ON p.id = s.principal_id \
         WHERE s.token_hash = $1 AND s.ended_at IS NULL AND p.disabled_at IS NULL \
           AND s.last_seen_at > $2 AND s.created_at > $3",
    )
    .bind(token_hash.to_vec())
    .bind(idle_since)
    .bind(born_after)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = row.try_get("role")?;
    let principal = Principal {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("principal role {role:?}")))?,
    };
    Ok(Some((principal, row.try_get("last_seen_at")?)))
}

/// Records use of a session (for the idle timeout).
pub async fn touch(
    conn: &mut AnyConnection,
    token_hash: &[u8; 32],
    now: Millis,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE console_sessions SET last_seen_at = $2 \
         WHERE token_hash = $1 AND ended_at IS NULL AND last_seen_at < $2",
    )
    .bind(token_hash.to_vec())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a session; returns its principal id if it was live.
pub async fn end(
    conn: &mut AnyConnection,
    token_hash: &[u8; 32],
    now: Millis,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "UPDATE console_sessions SET ended_at = $2 \
         WHERE token_hash = $1 AND ended_at IS NULL RETURNING principal_id",
    )
    .bind(token_hash.to_vec())
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.0))
}
