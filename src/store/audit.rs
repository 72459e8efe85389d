//! The audit table: appends (called only by `WriteTx::commit`, under the
//! chain lock), filtered reads with a `seq` cursor, and streaming in order.

use std::fmt::Write as _;

use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{StoreError, StoreResult};
use crate::audit::event::{Event, GENESIS, Hash, NewEvent};
use crate::clock::Millis;

const COLUMNS: &str = "seq, at, kind, actor, org_id, call_id, challenge_id, grant_id, outcome, detail, prev_hash, hash";

/// The chain's last event, as a writer last appended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    seq: i64,
    hash: Hash,
    at: Millis,
}

pub(super) async fn append(
    conn: &mut AnyConnection,
    at: Millis,
    events: Vec<NewEvent>,
) -> StoreResult<()> {
    append_after(conn, at, events, None).await.map(|_| ())
}

/// Appends `events` and returns the new head. `known` is the head this
/// writer left at its last commit: trusted, the group saves the round trip
/// that reads the head, but only under a guard in the INSERT that the
/// chain still ends at exactly that event (seq, hash and time). When
/// anything moved or rewrote it (the CLI, another instance on PostgreSQL)
/// nothing is inserted, and the events are chained again after the head
/// as it is.
pub(super) async fn append_after(
    conn: &mut AnyConnection,
    at: Millis,
    events: Vec<NewEvent>,
    known: Option<Head>,
) -> StoreResult<Head> {
    let head = match known {
        Some(head) => head,
        None => read_head(conn).await?,
    };
    let mut rows = Vec::with_capacity(events.len());
    let mut next = head;
    for new in events {
        next = follow(next, at);
        let (e, detail) = Event::from_new_encoded(next.seq, next.at, next.hash, new);
        next.hash = e.hash;
        rows.push((e, detail));
    }
    if insert_all(conn, &rows, known).await? {
        return Ok(next);
    }
    let mut next = read_head(conn).await?;
    for (e, _) in &mut rows {
        next = follow(next, at);
        (e.seq, e.at, e.prev_hash) = (next.seq, next.at, next.hash);
        e.hash = e.compute_hash();
        next.hash = e.hash;
    }
    insert_all(conn, &rows, None).await?;
    Ok(next)
}

/// The place after `head` for an event stamped `at`. A clock stepped back
/// (NTP, another instance's skew) never makes `at` run backwards along
/// `seq`.
fn follow(head: Head, at: Millis) -> Head {
    Head {
        seq: head.seq + 1,
        hash: head.hash,
        at: at.max(head.at),
    }
}

async fn read_head(conn: &mut AnyConnection) -> StoreResult<Head> {
    let row = sqlx::query("SELECT seq, hash, at FROM audit_events ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(row) => Head {
            seq: row.try_get::<i64, _>(0)?,
            hash: to_hash(row.try_get(1)?)?,
            at: row.try_get::<i64, _>(2)?,
        },
        None => Head {
            seq: 0,
            hash: GENESIS,
            at: Millis::MIN,
        },
    })
}

/// Inserts the rows, as few statements as the engines allow: one round
/// trip per chunk instead of one per event. With `after`, the first chunk
/// goes in only if the chain still ends at that head; false if it did not
/// (then nothing was inserted).
async fn insert_all(
    conn: &mut AnyConnection,
    rows: &[(Event, String)],
    after: Option<Head>,
) -> StoreResult<bool> {
    let mut guard = after;
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        if !insert_rows(conn, chunk, guard.take()).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// 12 parameters a row: 80 rows stay far below SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters a statement.
const ROWS_PER_INSERT: usize = 80;

async fn insert_rows(
    conn: &mut AnyConnection,
    rows: &[(Event, String)],
    after: Option<Head>,
) -> StoreResult<bool> {
    let mut sql = String::from(
        "INSERT INTO audit_events (seq, at, kind, actor, org_id, call_id, challenge_id, grant_id, outcome, detail, prev_hash, hash) ",
    );
    // Guarded, the rows are a SELECT over VALUES whose WHERE reads the
    // chain's end once (uncorrelated subqueries), before anything is
    // inserted, on both engines.
    sql.push_str(if after.is_some() {
        "SELECT * FROM (VALUES "
    } else {
        "VALUES "
    });
    let mut marks = super::rows::Placeholders::for_conn(conn);
    marks.push_values(&mut sql, rows.len(), 12, "");
    if after.is_some() {
        let (seq, hash, at, last) = (marks.next(), marks.next(), marks.next(), marks.next());
        let _ = write!(
            sql,
            ") AS v WHERE EXISTS (SELECT 1 FROM audit_events WHERE seq = {seq} AND hash = {hash} AND at = {at}) \
             AND NOT EXISTS (SELECT 1 FROM audit_events WHERE seq > {last})"
        );
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (e, detail) in rows {
        q = q
            .bind(e.seq)
            .bind(e.at)
            .bind(&e.kind)
            .bind(&e.actor)
            .bind(&e.org_id)
            .bind(&e.call_id)
            .bind(&e.challenge_id)
            .bind(&e.grant_id)
            .bind(&e.outcome)
            .bind(detail)
            .bind(e.prev_hash.to_vec())
            .bind(e.hash.to_vec());
    }
    if let Some(head) = after {
        q = q
            .bind(head.seq)
            .bind(head.hash.to_vec())
            .bind(head.at)
            .bind(head.seq);
    }
    let done = q.execute(&mut *conn).await?;
    Ok(done.rows_affected() == rows.len() as u64)
}

fn to_hash(bytes: Vec<u8>) -> StoreResult<Hash> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("audit hash is not 32 bytes".into()))
}

fn from_row(row: &AnyRow) -> StoreResult<Event> {
    let detail: String = row.try_get("detail")?;
    Ok(Event {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        kind: row.try_get("kind")?,
        actor: row.try_get("actor")?,
        org_id: row.try_get("org_id")?,
        call_id: row.try_get("call_id")?,
        challenge_id: row.try_get("challenge_id")?,
        grant_id: row.try_get("grant_id")?,
        outcome: row.try_get("outcome")?,
        // A detail that no longer parses is reported by the verifier as a
        // hash mismatch rather than hiding the row.
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        prev_hash: to_hash(row.try_get("prev_hash")?)?,
        hash: to_hash(row.try_get("hash")?)?,
    })
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub org_id: Option<String>,
    pub call_id: Option<String>,
    pub actor: Option<String>,
    pub kind: Option<String>,
    pub outcome: Option<String>,
    pub after_seq: Option<i64>,
}

impl AuditFilter {
    /// WHERE clause and its string/int binds, in placeholder order.
    fn clause(&self) -> (String, Vec<Bind>) {
        let mut parts = Vec::new();
        let mut binds = Vec::new();
        let mut push = |sql: &str, b: Bind| {
            binds.push(b);
            parts.push(sql.replace('?', &format!("${}", binds.len())));
        };
        if let Some(v) = self.after_seq {
            push("seq > ?", Bind::I(v));
        }
        if let Some(v) = self.from {
            push("at >= ?", Bind::I(v));
        }
        if let Some(v) = self.to {
            push("at < ?", Bind::I(v));
        }
        for (col, v) in [
            ("org_id", &self.org_id),
            ("call_id", &self.call_id),
            ("actor", &self.actor),
            ("kind", &self.kind),
            ("outcome", &self.outcome),
        ] {
            if let Some(v) = v {
                push(&format!("{col} = ?"), Bind::S(v.clone()));
            }
        }
        let sql = if parts.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", parts.join(" AND "))
        };
        (sql, binds)
    }
}

enum Bind {
    I(i64),
    S(String),
}

pub async fn list(
    pool: &sqlx::AnyPool,
    filter: &AuditFilter,
    limit: i64,
) -> StoreResult<Vec<Event>> {
    let (clause, binds) = filter.clause();
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events {clause} ORDER BY seq LIMIT ${}",
        binds.len() + 1
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        q = match b {
            Bind::I(i) => q.bind(i),
            Bind::S(s) => q.bind(s),
        };
    }
    let rows = q.bind(limit).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// Every event matching `filter`, in `seq` order, fetched in pages so
/// memory stays constant however long the log is.
pub fn stream(pool: sqlx::AnyPool, filter: AuditFilter) -> BoxStream<'static, StoreResult<Event>> {
    const PAGE: i64 = 1000;
    Box::pin(
        futures_util::stream::try_unfold((filter, false), move |(mut filter, done)| {
            let pool = pool.clone();
            async move {
                if done {
                    return Ok(None);
                }
                let page = list(&pool, &filter, PAGE).await?;
                let done = (page.len() as i64) < PAGE;
                if let Some(last) = page.last() {
                    filter.after_seq = Some(last.seq);
                }
                Ok::<_, StoreError>(Some((
                    futures_util::stream::iter(page.into_iter().map(Ok)),
                    (filter, done),
                )))
            }
        })
        .try_flatten(),
    )
}

pub async fn count(pool: &sqlx::AnyPool) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM audit_events")
        .fetch_one(pool)
        .await?;
    Ok(row.try_get(0)?)
}
