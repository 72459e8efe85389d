//! Roots of the audit tree's tiles (perfect subtrees of a fixed number of
//! events), as the checkpointer verified them. A cache for proofs: the
//! proof code treats a missing row as "read the events instead", and a
//! wrong row can only make a proof fail against a signed checkpoint.

use sqlx::{AnyConnection, AnyPool, Row};

use super::{StoreError, StoreResult};
use crate::audit::merkle::Hash;

fn param(idx: u64) -> StoreResult<i64> {
    i64::try_from(idx).map_err(|_| StoreError::Corrupt(format!("tile index {idx} is too large")))
}

/// Writes tile roots, replacing what a row held: the caller has just
/// verified the events they cover.
pub async fn put(conn: &mut AnyConnection, tiles: &[(u64, Hash)]) -> StoreResult<()> {
    for (idx, root) in tiles {
        sqlx::query(
            "INSERT INTO audit_tiles (idx, root) VALUES ($1, $2) \
             ON CONFLICT (idx) DO UPDATE SET root = excluded.root",
        )
        .bind(param(*idx)?)
        .bind(root.to_vec())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The stored roots of tiles `from..to`, by index; gaps are simply absent.
pub async fn range(pool: &AnyPool, from: u64, to: u64) -> StoreResult<Vec<(u64, Hash)>> {
    let rows =
        sqlx::query("SELECT idx, root FROM audit_tiles WHERE idx >= $1 AND idx < $2 ORDER BY idx")
            .bind(param(from)?)
            .bind(param(to)?)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            let idx: i64 = row.try_get("idx")?;
            let root: Vec<u8> = row.try_get("root")?;
            let root = root.try_into().map_err(|_| {
                StoreError::Corrupt(format!("audit tile {idx}: root is not 32 bytes"))
            })?;
            Ok((idx as u64, root))
        })
        .collect()
}
