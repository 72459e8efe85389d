//! The audit table: appends (called only by `WriteTx::commit`, under the
//! chain lock), filtered reads with a `seq` cursor, and streaming in order.

use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{StoreError, StoreResult};
use crate::audit::event::{Event, GENESIS, Hash, NewEvent};
use crate::clock::Millis;

const COLUMNS: &str = "seq, at, kind, actor, org_id, call_id, challenge_id, grant_id, outcome, detail, prev_hash, hash";

pub(super) async fn append(
    conn: &mut AnyConnection,
    at: Millis,
    events: Vec<NewEvent>,
) -> StoreResult<()> {
    let head = sqlx::query("SELECT seq, hash, at FROM audit_events ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (mut seq, mut prev, last_at) = match head {
        Some(row) => (
            row.try_get::<i64, _>(0)?,
            to_hash(row.try_get(1)?)?,
            row.try_get::<i64, _>(2)?,
        ),
        None => (0, GENESIS, Millis::MIN),
    };
    // A clock stepped back (NTP, another instance's skew) never makes `at`
    // run backwards along `seq`.
    let at = at.max(last_at);
    let mut rows = Vec::with_capacity(events.len());
    for new in events {
        seq += 1;
        let (e, detail) = Event::from_new_encoded(seq, at, prev, new);
        prev = e.hash;
        rows.push((e, detail));
    }
    // A group's events go in as few statements as the engines allow: one
    // round trip to the database per chunk instead of one per event.
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        insert_rows(conn, chunk).await?;
    }
    Ok(())
}

/// 12 parameters a row: 80 rows stay far below SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters a statement.
const ROWS_PER_INSERT: usize = 80;

async fn insert_rows(conn: &mut AnyConnection, rows: &[(Event, String)]) -> StoreResult<()> {
    let mut sql = String::from(
        "INSERT INTO audit_events (seq, at, kind, actor, org_id, call_id, challenge_id, grant_id, outcome, detail, prev_hash, hash) VALUES ",
    );
    for i in 0..rows.len() {
        let p = i * 12;
        if i > 0 {
            sql.push_str(", ");
        }
        let params: Vec<String> = (1..=12).map(|k| format!("${}", p + k)).collect();
        sql.push('(');
        sql.push_str(&params.join(", "));
        sql.push(')');
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
    q.execute(&mut *conn).await?;
    Ok(())
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
