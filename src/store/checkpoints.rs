//! The audit checkpoint table: signed tree heads as the signer wrote them
//! (`text` is the signed note, verbatim), keyed by tree size. Written only
//! by `audit::checkpointer`; read by the reviewer API and the verifier.

use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use super::{StoreError, StoreResult};
use crate::audit::merkle::Hash;
use crate::clock::Millis;

/// One signed checkpoint as stored. `size` and `root` repeat what `text`
/// says so the table can be queried; the verifier checks they agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub created_at: Millis,
    pub text: String,
}

const COLUMNS: &str = "size, root, created_at, text";

fn from_row(row: &AnyRow) -> StoreResult<StoredCheckpoint> {
    let size: i64 = row.try_get("size")?;
    let root: Vec<u8> = row.try_get("root")?;
    Ok(StoredCheckpoint {
        size: u64::try_from(size)
            .map_err(|_| StoreError::Corrupt(format!("checkpoint size {size} is negative")))?,
        root: root
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("checkpoint {size}: root is not 32 bytes")))?,
        created_at: row.try_get("created_at")?,
        text: row.try_get("text")?,
    })
}

fn size_param(size: u64) -> StoreResult<i64> {
    i64::try_from(size).map_err(|_| StoreError::Corrupt(format!("tree size {size} is too large")))
}

/// Stores a checkpoint unless one of that size exists already (two
/// instances, or the timer and a reviewer, may sign the same size at once).
/// Returns whether this call inserted it; the caller compares roots if not.
/// Runs on a write transaction's connection: on SQLite every write goes
/// through the single writer.
pub async fn insert(conn: &mut AnyConnection, cp: &StoredCheckpoint) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO audit_checkpoints (size, root, created_at, text) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (size) DO NOTHING",
    )
    .bind(size_param(cp.size)?)
    .bind(cp.root.to_vec())
    .bind(cp.created_at)
    .bind(&cp.text)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(pool: &AnyPool, size: u64) -> StoreResult<Option<StoredCheckpoint>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_checkpoints WHERE size = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(size_param(size)?)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The checkpoint with the largest tree size.
pub async fn latest(pool: &AnyPool) -> StoreResult<Option<StoredCheckpoint>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_checkpoints ORDER BY size DESC LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Checkpoints in ascending size after the cursor `after_size`.
pub async fn list(
    pool: &AnyPool,
    after_size: Option<u64>,
    limit: i64,
) -> StoreResult<Vec<StoredCheckpoint>> {
    // -1 is below every size, so the first page needs no second query shape.
    let after = match after_size {
        Some(s) => size_param(s)?,
        None => -1,
    };
    let sql =
        format!("SELECT {COLUMNS} FROM audit_checkpoints WHERE size > $1 ORDER BY size LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Every checkpoint in ascending size, paged, so the verifier's memory does
/// not grow with the history (a checkpoint every event is a valid setting).
pub fn stream(pool: AnyPool) -> BoxStream<'static, StoreResult<StoredCheckpoint>> {
    const PAGE: i64 = 500;
    Box::pin(
        futures_util::stream::try_unfold((None, false), move |(after, done)| {
            let pool = pool.clone();
            async move {
                if done {
                    return Ok(None);
                }
                let page = list(&pool, after, PAGE).await?;
                let done = (page.len() as i64) < PAGE;
                let after = page.last().map(|c| c.size).or(after);
                Ok::<_, StoreError>(Some((
                    futures_util::stream::iter(page.into_iter().map(Ok)),
                    (after, done),
                )))
            }
        })
        .try_flatten(),
    )
}

/// The highest `seq` in the audit log (0 when empty): the tree size the
/// next checkpoint would cover, read from the primary key alone.
pub async fn head_seq(pool: &AnyPool) -> StoreResult<u64> {
    let row = sqlx::query("SELECT MAX(seq) FROM audit_events")
        .fetch_one(pool)
        .await?;
    let max: Option<i64> = row.try_get(0)?;
    Ok(max.map_or(0, |m| u64::try_from(m).unwrap_or(0)))
}
