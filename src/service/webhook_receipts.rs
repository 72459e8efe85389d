//! A signed webhook seen before: for providers whose signature carries
//! its own freshness (a timestamp, a nonce, a token id) but not a
//! one-time use, the store remembers each delivery's key so a replay
//! inside the freshness window is refused. Leaf: needs no other use case.

use crate::app::AppState;
use crate::store::quotas;

use super::ServiceResult;

/// Records `key` for `provider`; false when it was recorded before (the
/// request is a replay).
pub async fn first_delivery(state: &AppState, provider: &str, key: &str) -> ServiceResult<bool> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    let first = quotas::first_receipt(tx.conn(), provider, key, now).await?;
    tx.commit().await?;
    Ok(first)
}
