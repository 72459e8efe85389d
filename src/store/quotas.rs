//! Quotas, lockouts and webhook receipts. Each decision is one atomic
//! statement (an upsert that returns the new count, an insert that tells
//! whether it was new), so instances sharing a database agree.

use std::fmt::Write as _;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, FromRow, Row};

use super::rows::Placeholders;
use super::{StoreError, StoreResult};
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

/// One use to count in a rolling window: of (scope, key), counting every
/// use or the distinct members.
#[derive(Debug, Clone, Copy)]
pub struct Use<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub counting: Counting<'a>,
}

/// Counts one use of each of `uses` at `now`, each in a window rolling
/// back `window_ms` from now, so no edge lets twice the quota through;
/// returns their counts in the same order. An upsert on each key's lock
/// row in `quota_counters` (window 0) serialises concurrent charges of a
/// key on PostgreSQL (SQLite has one writer), so the counts, read by a
/// later statement, include every committed use. Three statements
/// however many uses, plus a rare prune: a PIN check charges four quotas.
/// On SQLite the three go in one round trip to the connection's thread
/// (each round trip is two thread hand-offs, which cost a PIN check more
/// than its statements do: docs/operating.md, "Where a PIN check's time
/// goes"); PostgreSQL takes one statement with parameters at a time.
pub async fn charge_all(
    conn: &mut AnyConnection,
    uses: &[Use<'_>],
    window_ms: i64,
    now: Millis,
) -> StoreResult<Vec<Rolling>> {
    if uses.is_empty() {
        return Ok(Vec::new());
    }
    let since = now - window_ms.max(1);
    let keys = lock_order(uses);
    // Each statement numbers its own placeholders (`$1` on); on SQLite
    // they are all `?`, bound in turn across the statements of one query.
    let marks = Placeholders::for_conn(conn);
    let statements = [
        lock_sql(marks, keys.len()),
        insert_sql(marks, uses.len()),
        count_sql(marks, uses),
    ];
    let rows = if marks.is_anonymous() {
        let q = sqlx::query(sqlx::AssertSqlSafe(statements.join("; ")));
        bind_counts(bind_uses(bind_keys(q, &keys), uses, now), uses, since)
            .fetch_all(&mut *conn)
            .await?
    } else {
        let [lock, insert, count] = statements;
        let mut rows = bind_keys(sqlx::query(sqlx::AssertSqlSafe(lock)), &keys)
            .fetch_all(&mut *conn)
            .await?;
        bind_uses(sqlx::query(sqlx::AssertSqlSafe(insert)), uses, now)
            .execute(&mut *conn)
            .await?;
        rows.extend(
            bind_counts(sqlx::query(sqlx::AssertSqlSafe(count)), uses, since)
                .fetch_all(&mut *conn)
                .await?,
        );
        rows
    };
    let (charged, counts) = read_charges(&rows, uses.len())?;
    prune(conn, &charged, since).await?;
    Ok(counts)
}

/// A key (scope, key) and its charges so far, from its lock row.
type Charged = (String, String, i64);

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Each key once, in (scope, key) order, so two transactions charging the
/// same keys on PostgreSQL take their lock rows in the same order (and one
/// statement may not upsert a row twice: PostgreSQL refuses).
fn lock_order<'a>(uses: &[Use<'a>]) -> Vec<(&'a str, &'a str)> {
    let mut keys: Vec<(&str, &str)> = uses.iter().map(|u| (u.scope, u.key)).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Takes each key's lock row and returns its charges so far.
fn lock_sql(mut marks: Placeholders, keys: usize) -> String {
    let mut sql =
        String::from("INSERT INTO quota_counters (scope, key, window_start, count) VALUES ");
    marks.push_values(&mut sql, keys, 2, ", 0, 1");
    sql.push_str(
        " ON CONFLICT (scope, key, window_start) DO UPDATE SET count = quota_counters.count + 1 \
         RETURNING scope, key, count",
    );
    sql
}

fn bind_keys<'q>(mut q: AnyQuery<'q>, keys: &[(&'q str, &'q str)]) -> AnyQuery<'q> {
    for &(scope, key) in keys {
        q = q.bind(scope).bind(key);
    }
    q
}

fn insert_sql(mut marks: Placeholders, uses: usize) -> String {
    let mut sql = String::from("INSERT INTO quota_events (scope, key, member, at) VALUES ");
    marks.push_values(&mut sql, uses, 4, "");
    sql
}

fn bind_uses<'q>(mut q: AnyQuery<'q>, uses: &[Use<'q>], now: Millis) -> AnyQuery<'q> {
    for u in uses {
        let member = match u.counting {
            Counting::Uses => "",
            Counting::Members(m) => m,
        };
        q = q.bind(u.scope).bind(u.key).bind(member).bind(now);
    }
    q
}

/// Each use's count since the window began, one `SELECT` a use in one
/// statement; each row carries its use's index (`use_index`), so the order
/// of the union's rows does not matter.
fn count_sql(mut marks: Placeholders, uses: &[Use<'_>]) -> String {
    let mut sql = String::new();
    for (i, u) in uses.iter().enumerate() {
        let count = match u.counting {
            Counting::Uses => "COUNT(*)",
            Counting::Members(_) => "COUNT(DISTINCT member)",
        };
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        let (scope, key, after) = (marks.next(), marks.next(), marks.next());
        let _ = write!(
            sql,
            "SELECT CAST({i} AS BIGINT) AS use_index, {count} AS used, MIN(at) AS oldest \
             FROM quota_events WHERE scope = {scope} AND key = {key} AND at > {after}"
        );
    }
    sql
}

fn bind_counts<'q>(mut q: AnyQuery<'q>, uses: &[Use<'q>], since: Millis) -> AnyQuery<'q> {
    for u in uses {
        q = q.bind(u.scope).bind(u.key).bind(since);
    }
    q
}

/// Splits the rows of the three statements: each lock row's key and its
/// charges so far, and each use's count, in the order of `uses` (the rows
/// are told apart by their columns' names, not by where they come).
fn read_charges(rows: &[AnyRow], uses: usize) -> StoreResult<(Vec<Charged>, Vec<Rolling>)> {
    let mut charged = Vec::new();
    let mut counts = vec![None; uses];
    for row in rows {
        if row.try_column("use_index").is_ok() {
            let i: i64 = row.try_get("use_index")?;
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
                *slot = Some(Rolling {
                    used: row.try_get("used")?,
                    oldest: row.try_get("oldest")?,
                });
            }
        } else {
            charged.push((
                row.try_get("scope")?,
                row.try_get("key")?,
                row.try_get("count")?,
            ));
        }
    }
    let counts = counts
        .into_iter()
        .map(|c| c.ok_or(StoreError::Db(sqlx::Error::RowNotFound)))
        .collect::<StoreResult<_>>()?;
    Ok((charged, counts))
}

/// Now and then (every [`PRUNE_EVERY`] charges of a key) deletes the key's
/// uses that left the window: the counts ignore them anyway, and the
/// retention purge takes what stays behind. Not on a key's first charge:
/// it has nothing to prune yet, and most keys (a caller's) are charged a
/// few times only.
async fn prune(conn: &mut AnyConnection, charged: &[Charged], since: Millis) -> StoreResult<()> {
    for (scope, key, charges) in charged {
        if charges % PRUNE_EVERY == 0 {
            sqlx::query("DELETE FROM quota_events WHERE scope = $1 AND key = $2 AND at <= $3")
                .bind(scope)
                .bind(key)
                .bind(since)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
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
