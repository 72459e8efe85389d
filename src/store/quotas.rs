//! Quotas, lockouts and webhook receipts. Each decision is one atomic
//! statement (an upsert that returns the new count, an insert that tells
//! whether it was new), so instances sharing a database agree.

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::StoreResult;
use crate::clock::Millis;

fn window_start(now: Millis, window_ms: i64) -> Millis {
    now - now.rem_euclid(window_ms.max(1))
}

/// When the current window ends (for Retry-After).
pub fn window_end(now: Millis, window_ms: i64) -> Millis {
    window_start(now, window_ms) + window_ms.max(1)
}

/// Counts one more use in the current window; returns the new count.
pub async fn bump(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    window_ms: i64,
    now: Millis,
) -> StoreResult<i64> {
    let row: (i64,) = sqlx::query_as(
        "INSERT INTO quota_counters (scope, key, window_start, count) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (scope, key, window_start) DO UPDATE SET count = quota_counters.count + 1 \
         RETURNING count",
    )
    .bind(scope)
    .bind(key)
    .bind(window_start(now, window_ms))
    .fetch_one(conn)
    .await?;
    Ok(row.0)
}

/// A rolling count: uses in the window that ends now (the one just
/// counted included), and when the oldest of them leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rolling {
    pub used: i64,
    pub oldest: Millis,
}

/// How many charges of one key pass between prunes of its old uses.
const PRUNE_EVERY: i64 = 32;

/// What a rolling charge counts: every use, or the distinct members used.
#[derive(Debug, Clone, Copy)]
pub enum Counting<'a> {
    Uses,
    Members(&'a str),
}

/// Counts one use of (scope, key) at `now` in a window rolling back
/// `window_ms` from now, so no edge lets twice the quota through. An
/// upsert on the key's lock row in `quota_counters` (window 0) serialises
/// concurrent charges of one key on PostgreSQL (SQLite has one writer),
/// so the count read after it includes every committed use.
pub async fn charge(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    counting: Counting<'_>,
    window_ms: i64,
    now: Millis,
) -> StoreResult<Rolling> {
    let (charges,): (i64,) = sqlx::query_as(
        "INSERT INTO quota_counters (scope, key, window_start, count) VALUES ($1, $2, 0, 1) \
         ON CONFLICT (scope, key, window_start) DO UPDATE SET count = quota_counters.count + 1 \
         RETURNING count",
    )
    .bind(scope)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    let since = now - window_ms.max(1);
    // Uses that left the window are pruned now and then (the count below
    // ignores them anyway; the retention purge takes what stays behind).
    if charges % PRUNE_EVERY == 1 {
        sqlx::query("DELETE FROM quota_events WHERE scope = $1 AND key = $2 AND at <= $3")
            .bind(scope)
            .bind(key)
            .bind(since)
            .execute(&mut *conn)
            .await?;
    }
    let member = match counting {
        Counting::Uses => "",
        Counting::Members(m) => m,
    };
    sqlx::query("INSERT INTO quota_events (scope, key, at, member) VALUES ($1, $2, $3, $4)")
        .bind(scope)
        .bind(key)
        .bind(now)
        .bind(member)
        .execute(&mut *conn)
        .await?;
    let count = match counting {
        Counting::Uses => "COUNT(*)",
        Counting::Members(_) => "COUNT(DISTINCT member)",
    };
    let row: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {count}, MIN(at) FROM quota_events WHERE scope = $1 AND key = $2 AND at > $3"
    )))
    .bind(scope)
    .bind(key)
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok(Rolling {
        used: row.0,
        oldest: row.1,
    })
}

/// Forgets a key's counts (an admin reset).
pub async fn clear(conn: &mut AnyConnection, scope: &str, key: &str) -> StoreResult<()> {
    for table in ["quota_counters", "quota_events"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE scope = $1 AND key = $2"
        )))
        .bind(scope)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct LockoutRow {
    pub id: String,
    pub org_id: String,
    pub caller_key: String,
    pub locked_at: i64,
    pub until: i64,
    pub reset_at: Option<i64>,
    pub reset_by: Option<String>,
}

const LOCKOUT_COLUMNS: &str = "id, org_id, caller_key, locked_at, until, reset_at, reset_by";

pub async fn active_lockout(
    conn: &mut AnyConnection,
    org_id: &str,
    caller_key: &str,
    now: Millis,
) -> StoreResult<Option<LockoutRow>> {
    Ok(sqlx::query_as::<_, LockoutRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {LOCKOUT_COLUMNS} FROM lockouts \
         WHERE org_id = $1 AND caller_key = $2 AND until > $3 AND reset_at IS NULL \
         ORDER BY until DESC LIMIT 1"
    )))
    .bind(org_id)
    .bind(caller_key)
    .bind(now)
    .fetch_optional(conn)
    .await?)
}

pub async fn insert_lockout(conn: &mut AnyConnection, l: &LockoutRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO lockouts (id, org_id, caller_key, locked_at, until) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&l.id)
    .bind(&l.org_id)
    .bind(&l.caller_key)
    .bind(l.locked_at)
    .bind(l.until)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn active_lockouts(pool: &AnyPool, now: Millis) -> StoreResult<Vec<LockoutRow>> {
    Ok(sqlx::query_as::<_, LockoutRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {LOCKOUT_COLUMNS} FROM lockouts WHERE until > $1 AND reset_at IS NULL ORDER BY locked_at"
    )))
    .bind(now)
    .fetch_all(pool)
    .await?)
}

/// Ends the org's active lockouts (one caller's, or all); returns them.
pub async fn reset_lockouts(
    conn: &mut AnyConnection,
    org_id: &str,
    caller_key: Option<&str>,
    by: &str,
    now: Millis,
) -> StoreResult<Vec<LockoutRow>> {
    Ok(sqlx::query_as::<_, LockoutRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE lockouts SET reset_at = $3, reset_by = $4 \
         WHERE org_id = $1 AND ($2 = '' OR caller_key = $2) AND until > $3 AND reset_at IS NULL \
         RETURNING {LOCKOUT_COLUMNS}"
    )))
    .bind(org_id)
    .bind(caller_key.unwrap_or(""))
    .bind(now)
    .bind(by)
    .fetch_all(conn)
    .await?)
}

/// Records a webhook delivery; false when this key was applied before.
pub async fn first_receipt(
    conn: &mut AnyConnection,
    provider: &str,
    key: &str,
    now: Millis,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "INSERT INTO webhook_receipts (provider, key, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (provider, key) DO NOTHING",
    )
    .bind(provider)
    .bind(key)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[cfg(test)]
mod tests;
