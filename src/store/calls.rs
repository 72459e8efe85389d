//! Calls, recorded idempotently by the provider's call id.

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::StoreResult;
use super::rows::Placeholders;
use crate::clock::Millis;
use crate::domain::verification::{Attestation, CallStatus, Verification};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct CallRow {
    pub id: String,
    pub provider: String,
    pub provider_call_id: String,
    pub from_raw: String,
    pub caller_kind: String,
    pub caller_e164: Option<String>,
    pub to_raw: String,
    /// The provider's own words for the attestation, shown to people.
    pub attestation: Option<String>,
    /// What the trust policy decides on.
    pub attestation_level: Attestation,
    pub org_id: Option<String>,
    pub org_source: Option<String>,
    pub verification: Verification,
    pub status: CallStatus,
    pub gather_attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
    /// IVR progress (support lines): the language, line and severity the
    /// caller chose, whether the call arrived inside hours (1/0), and tries
    /// on the menu being asked.
    pub language: Option<String>,
    pub line: Option<String>,
    pub severity: Option<String>,
    pub inside_hours: Option<i64>,
    pub menu_attempts: i64,
    /// The agent handling the call (`domain::handling`); None until one acts.
    pub handled_by: Option<String>,
}

const COLUMNS: &str = "id, provider, provider_call_id, from_raw, caller_kind, caller_e164, to_raw, \
    attestation, attestation_level, org_id, org_source, verification, status, gather_attempts, created_at, \
    updated_at, ended_at, language, line, severity, inside_hours, menu_attempts, handled_by";

/// What a call was stored with when its caller's number decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberMatch {
    /// The org that registered `caller_e164`, if any.
    pub org_id: Option<String>,
    pub verification: Verification,
}

/// Inserts the call unless the provider already told us about it, with
/// the org that registered its caller's number looked up in the same
/// statement (one round trip, and no read on another connection): the
/// row's `org_id` and `org_source` are ignored; `verification` is stored
/// when no org registered the number, `if_registered` when one did (the
/// domain decides both; the statement only picks). Returns what was
/// stored, or None for a replayed webhook.
pub async fn insert_if_new(
    conn: &mut AnyConnection,
    c: &CallRow,
    if_registered: Verification,
) -> StoreResult<Option<NumberMatch>> {
    let mut stored = insert_all_if_new(conn, &[(c, if_registered)]).await?;
    Ok(stored.pop().flatten())
}

/// The largest batch whose insert stays prepared (see `insert_all_if_new`).
const PREPARED_UP_TO: usize = 8;

/// Parameters of one call in [`insert_all_if_new`].
const PER_CALL: usize = 16;

/// Most calls one statement inserts: 16 parameters each stay far below
/// SQLite's 32,766 and PostgreSQL's 65,535 parameters a statement.
pub const CALLS_PER_INSERT: usize = 128;

/// [`insert_if_new`] for many calls in one statement (one round trip):
/// what each was stored with, in order, or None for each that the
/// provider had told us about already (also earlier in the same list).
/// One statement, so it changes all of them or, when it fails, none.
pub async fn insert_all_if_new(
    conn: &mut AnyConnection,
    calls: &[(&CallRow, Verification)],
) -> StoreResult<Vec<Option<NumberMatch>>> {
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    if calls.len() > CALLS_PER_INSERT {
        return Err(super::StoreError::Setup(format!(
            "{} calls in one insert (at most {CALLS_PER_INSERT})",
            calls.len()
        )));
    }
    // Only the small sizes stay prepared on the connection: every size is
    // a statement of its own, and a prepared insert of a hundred calls
    // holds a large program (kept for each size, they took some 100 MiB).
    let mut q = sqlx::query_as::<_, (String, Option<String>, Verification)>(sqlx::AssertSqlSafe(
        insert_calls_sql(calls.len(), Placeholders::for_conn(conn)),
    ))
    .persistent(calls.len() <= PREPARED_UP_TO);
    for (c, if_registered) in calls {
        q = q
            .bind(&c.id)
            .bind(&c.provider)
            .bind(&c.provider_call_id)
            .bind(&c.from_raw)
            .bind(&c.caller_kind)
            .bind(&c.caller_e164)
            .bind(&c.to_raw)
            .bind(&c.attestation)
            .bind(c.attestation_level)
            .bind(c.verification)
            .bind(*if_registered)
            .bind(c.status)
            .bind(c.gather_attempts)
            .bind(c.created_at)
            .bind(c.updated_at)
            .bind(c.ended_at);
    }
    let mut stored: std::collections::HashMap<String, NumberMatch> = q
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|(id, org_id, verification)| {
            (
                id,
                NumberMatch {
                    org_id,
                    verification,
                },
            )
        })
        .collect();
    Ok(calls.iter().map(|(c, _)| stored.remove(&c.id)).collect())
}

/// The insert of `n` calls: a SELECT over the VALUES of every call, 16
/// parameters a call, each written once in the order it is bound (so
/// SQLite's placeholders can be anonymous: `rows::Placeholders`). The org
/// lookup is written out three times (each on the index, inside the one
/// round trip) so one statement serves both engines. Column 6 of the
/// VALUES is the caller's number, 10 the verification if no org
/// registered it and 11 if one did. `WHERE true` keeps SQLite from reading
/// `ON CONFLICT` as a join's `ON`.
fn insert_calls_sql(n: usize, mut marks: Placeholders) -> String {
    let mut sql = String::from(
        "INSERT INTO calls (id, provider, provider_call_id, from_raw, caller_kind, caller_e164, to_raw, \
         attestation, attestation_level, org_id, org_source, verification, status, gather_attempts, created_at, \
         updated_at, ended_at) \
         SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, v.column9, \
         (SELECT org_id FROM org_numbers WHERE number = v.column6), \
         CASE WHEN EXISTS (SELECT 1 FROM org_numbers WHERE number = v.column6) THEN 'number' END, \
         CASE WHEN EXISTS (SELECT 1 FROM org_numbers WHERE number = v.column6) THEN v.column11 ELSE v.column10 END, \
         v.column12, v.column13, v.column14, v.column15, v.column16 FROM (VALUES ",
    );
    marks.push_values(&mut sql, n, PER_CALL, "");
    sql.push_str(
        ") AS v WHERE true \
         ON CONFLICT (provider, provider_call_id) DO NOTHING RETURNING id, org_id, verification",
    );
    sql
}

pub async fn get(pool: &AnyPool, id: &str) -> StoreResult<Option<CallRow>> {
    Ok(sqlx::query_as::<_, CallRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calls WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// Locks a call's row until the transaction ends and returns it as
/// committed now. An UPDATE that changes nothing, so one statement serves
/// both engines (SQLite has a single writer anyway).
pub async fn lock(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<CallRow>> {
    Ok(sqlx::query_as::<_, CallRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE calls SET status = status WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn by_provider_id_in(
    conn: &mut AnyConnection,
    provider: &str,
    provider_call_id: &str,
) -> StoreResult<Option<CallRow>> {
    Ok(sqlx::query_as::<_, CallRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calls WHERE provider = $1 AND provider_call_id = $2"
    )))
    .bind(provider)
    .bind(provider_call_id)
    .fetch_optional(conn)
    .await?)
}

#[derive(Debug, Default, Clone)]
pub struct CallFilter {
    pub status: Option<String>,
    pub provider_call_id: Option<String>,
    /// Cursor: calls created strictly before this (created_at, id).
    pub before: Option<(i64, String)>,
}

/// Newest first.
pub async fn list(pool: &AnyPool, f: &CallFilter, limit: i64) -> StoreResult<Vec<CallRow>> {
    let (before_at, before_id) = f.before.clone().unwrap_or((i64::MAX, String::new()));
    Ok(sqlx::query_as::<_, CallRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM calls \
         WHERE ($1 = '' OR status = $1) AND ($2 = '' OR provider_call_id = $2) \
           AND (created_at < $3 OR (created_at = $3 AND ($4 = '' OR id < $4))) \
         ORDER BY created_at DESC, id DESC LIMIT $5"
    )))
    .bind(f.status.clone().unwrap_or_default())
    .bind(f.provider_call_id.clone().unwrap_or_default())
    .bind(before_at)
    .bind(before_id)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub async fn set_org(
    conn: &mut AnyConnection,
    id: &str,
    org_id: &str,
    source: &str,
    verification: Verification,
    now: Millis,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE calls SET org_id = $2, org_source = $3, verification = $4, updated_at = $5 \
         WHERE id = $1 AND org_id IS NULL AND status = $6",
    )
    .bind(id)
    .bind(org_id)
    .bind(source)
    .bind(verification)
    .bind(now)
    .bind(CallStatus::Active)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_verification(
    conn: &mut AnyConnection,
    id: &str,
    verification: Verification,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query("UPDATE calls SET verification = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(verification)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes `agent` the call's handler (a claim or a takeover, as the domain
/// decided under the call's lock).
pub async fn set_handler(
    conn: &mut AnyConnection,
    id: &str,
    agent: &str,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query("UPDATE calls SET handled_by = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(agent)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts one IVR attempt; returns the new count.
pub async fn bump_gather_attempts(
    conn: &mut AnyConnection,
    id: &str,
    now: Millis,
) -> StoreResult<i64> {
    let row: (i64,) = sqlx::query_as(
        "UPDATE calls SET gather_attempts = gather_attempts + 1, updated_at = $2 WHERE id = $1 RETURNING gather_attempts",
    )
    .bind(id)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(row.0)
}

/// Marks an active call ended; false if it already was.
pub async fn end(conn: &mut AnyConnection, id: &str, now: Millis) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE calls SET status = $3, ended_at = $2, updated_at = $2 WHERE id = $1 AND status = $4",
    )
    .bind(id)
    .bind(now)
    .bind(CallStatus::Ended)
    .bind(CallStatus::Active)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// What the IVR menus recorded for a call.
pub struct MenuProgress<'a> {
    pub language: Option<&'a str>,
    pub line: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub inside_hours: Option<bool>,
    pub menu_attempts: i64,
}

pub async fn set_menu_progress(
    conn: &mut AnyConnection,
    id: &str,
    p: &MenuProgress<'_>,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE calls SET language = $2, line = $3, severity = $4, inside_hours = $5, \
         menu_attempts = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(p.language)
    .bind(p.line)
    .bind(p.severity)
    .bind(p.inside_hours.map(i64::from))
    .bind(p.menu_attempts)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
