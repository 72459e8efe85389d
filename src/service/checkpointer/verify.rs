//! Whole-log verification: every event's hash, link and `seq` (see
//! [`ChainVerifier`]), each stored checkpoint's signature and root at its
//! size, and a checkpoint a reviewer kept. Shared by `GET
//! /v1/audit/verify` and `pingate audit verify` (database or export file).

use ed25519_dalek::VerifyingKey;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use sqlx::AnyPool;

use crate::audit::chain::{ChainError, ChainVerifier};
use crate::audit::checkpoint;
use crate::audit::event::Event;
use crate::audit::merkle::Hash;
use crate::store::audit::{self as audit_store, AuditFilter};
use crate::store::checkpoints::{self, StoredCheckpoint};
use crate::store::{StoreError, StoreResult};

/// A tree head the log must have at `size`: from a stored checkpoint or one
/// a reviewer kept. `root` is `Err(why)` when its signature did not verify,
/// reported when the log reaches that size, so failures come in log order.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub size: u64,
    pub root: Result<Hash, String>,
    pub label: &'static str,
}

/// A stored checkpoint, its signature checked against `key` named
/// `key_name` (also the origin pingate signs with).
pub fn stored_expectation(
    cp: &StoredCheckpoint,
    key_name: &str,
    key: &VerifyingKey,
) -> Expectation {
    let root = match checkpoint::parse_and_verify(&cp.text, key_name, key) {
        Err(e) => Err(format!("its signature does not verify: {e}")),
        Ok(c) if c.origin != key_name => Err(format!(
            "it names origin {:?}, expected {key_name:?}",
            c.origin
        )),
        Ok(c) if c.size != cp.size || c.root != cp.root => {
            Err("its signed text disagrees with its stored size or root".into())
        }
        Ok(c) => Ok(c.root),
    };
    Expectation {
        size: cp.size,
        root,
        label: "stored checkpoint",
    }
}

/// A checkpoint file a reviewer kept. Unlike a stored one, a bad signature
/// here is the file's fault, not the log's: it is an error straight away.
pub fn held_expectation(
    text: &str,
    key_name: &str,
    key: &VerifyingKey,
) -> Result<Expectation, String> {
    let cp = checkpoint::parse_and_verify(text, key_name, key)
        .map_err(|e| format!("the checkpoint does not verify: {e}"))?;
    if cp.origin != key_name {
        return Err(format!(
            "the checkpoint is for log {:?}, not {key_name:?}",
            cp.origin
        ));
    }
    Ok(Expectation {
        size: cp.size,
        root: Ok(cp.root),
        label: "your checkpoint",
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub events: u64,
    pub root: Hash,
    /// Stored checkpoints whose signature and root were checked.
    pub checkpoints: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The log (or export) is not what was signed: first bad seq and why.
    #[error("audit log is NOT intact: {0}")]
    Broken(ChainError),
    /// The log could not be read; nothing is known about its integrity.
    #[error("{0}")]
    Read(String),
}

/// Verifies a log read in order: every hash, link and `seq` (see
/// [`ChainVerifier`]), each checkpoint's root at its size, in ascending
/// size, and the `held` one. Every checkpoint root being recomputed from
/// the one log also proves consecutive checkpoints consistent: each is a
/// prefix of the same sequence of leaves.
pub async fn verify_log<E, C>(
    mut events: E,
    mut checkpoints: C,
    mut held: Option<Expectation>,
    mut progress: impl FnMut(u64),
) -> Result<Verified, VerifyError>
where
    E: Stream<Item = Result<Event, VerifyError>> + Unpin,
    C: Stream<Item = Result<Expectation, VerifyError>> + Unpin,
{
    let mut chain = ChainVerifier::new();
    let mut next = checkpoints.next().await.transpose()?;
    let mut checked = 0;
    loop {
        // Every expectation at the current size, then the next event.
        while let Some(x) = next.as_ref().filter(|x| x.size <= chain.size()) {
            if x.size < chain.size() {
                return Err(VerifyError::Read(
                    "checkpoints are not in ascending size".into(),
                ));
            }
            compare(x, &chain)?;
            checked += 1;
            next = checkpoints.next().await.transpose()?;
        }
        if let Some(x) = held.as_ref().filter(|x| x.size == chain.size()) {
            compare(x, &chain)?;
            held = None;
        }
        let Some(e) = events.next().await else { break };
        chain.push(&e?).map_err(VerifyError::Broken)?;
        progress(chain.size());
    }
    // A checkpoint beyond the end: events it covered are gone.
    if let Some(x) = next.or(held) {
        return Err(VerifyError::Broken(ChainError {
            seq: chain.size() as i64 + 1,
            reason: format!(
                "missing: the log was truncated; {} covers {} events but the log ends after {}",
                x.label,
                x.size,
                chain.size()
            ),
        }));
    }
    Ok(Verified {
        events: chain.size(),
        root: chain.root(),
        checkpoints: checked,
    })
}

fn compare(x: &Expectation, chain: &ChainVerifier) -> Result<(), VerifyError> {
    let reason = match &x.root {
        Err(why) => format!("{} of size {}: {why}", x.label, x.size),
        Ok(root) if *root != chain.root() => format!(
            "{} of size {} does not match the log: an event at or before seq {} was altered, removed or reordered since it was signed",
            x.label, x.size, x.size
        ),
        Ok(_) => return Ok(()),
    };
    Err(VerifyError::Broken(ChainError {
        seq: x.size as i64,
        reason,
    }))
}

/// [`verify_log`] over the database: every event, every stored checkpoint
/// checked with `key` named `key_name`, and optionally a held checkpoint.
pub async fn verify_database(
    pool: &AnyPool,
    key_name: &str,
    key: &VerifyingKey,
    held: Option<Expectation>,
    progress: impl FnMut(u64),
) -> Result<Verified, VerifyError> {
    let read = |e: StoreError| VerifyError::Read(e.to_string());
    let key_name = key_name.to_owned();
    let key = *key;
    let stored = checkpoints::stream(pool.clone())
        .map_ok(move |cp| stored_expectation(&cp, &key_name, &key))
        .map_err(read);
    let events = every_event(pool.clone()).map_err(read);
    verify_log(events, stored, held, progress).await
}

/// Every stored event in `seq` order, read in pages until a page comes back
/// empty (not merely short). A checkpoint page is always read before the
/// event page that ends the stream, so a checkpoint signed while we read
/// never reaches past the events we see and is not mistaken for truncation.
/// The first page has no lower bound: a row slipped in below seq 1 shows.
fn every_event(pool: AnyPool) -> BoxStream<'static, StoreResult<Event>> {
    const PAGE: i64 = 1000;
    Box::pin(
        futures_util::stream::try_unfold((None, false), move |(after, done)| {
            let pool = pool.clone();
            async move {
                if done {
                    return Ok(None);
                }
                let filter = AuditFilter {
                    after_seq: after,
                    ..AuditFilter::default()
                };
                let page = audit_store::list(&pool, &filter, PAGE).await?;
                let next = (page.last().map(|e| e.seq).or(after), page.is_empty());
                Ok::<_, StoreError>(Some((
                    futures_util::stream::iter(page.into_iter().map(Ok)),
                    next,
                )))
            }
        })
        .try_flatten(),
    )
}

#[cfg(test)]
mod tests;
