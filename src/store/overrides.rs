//! Admin overrides of an org's spent PIN budgets: short-lived rows, each
//! created with its audit event.

use sqlx::{AnyConnection, FromRow};

use super::StoreResult;
use crate::clock::Millis;

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct OverrideRow {
    pub id: String,
    pub org_id: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn insert(conn: &mut AnyConnection, o: &OverrideRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO org_overrides (id, org_id, reason, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&o.id)
    .bind(&o.org_id)
    .bind(&o.reason)
    .bind(&o.created_by)
    .bind(o.created_at)
    .bind(o.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The org's override in force at `now` that lasts longest, if any.
pub async fn active(
    conn: &mut AnyConnection,
    org_id: &str,
    now: Millis,
) -> StoreResult<Option<OverrideRow>> {
    Ok(sqlx::query_as::<_, OverrideRow>(
        "SELECT id, org_id, reason, created_by, created_at, expires_at FROM org_overrides \
         WHERE org_id = $1 AND expires_at > $2 AND created_at <= $2 \
         ORDER BY expires_at DESC LIMIT 1",
    )
    .bind(org_id)
    .bind(now)
    .fetch_optional(conn)
    .await?)
}
