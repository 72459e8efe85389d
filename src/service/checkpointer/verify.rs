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
mod tests {
    use super::*;
    use crate::audit::checkpoint::Checkpoint;
    use crate::audit::event::{EventKind, GENESIS, NewEvent, Outcome};
    use crate::audit::merkle;
    use ed25519_dalek::SigningKey;

    fn log(n: i64) -> Vec<Event> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let e = Event::from_new(
                    seq,
                    1_700_000_000_000 + seq,
                    prev,
                    NewEvent::new(EventKind::CallReceived, "provider:twilio", Outcome::Success)
                        .detail("n", seq),
                );
                prev = e.hash;
                e
            })
            .collect()
    }

    fn root_at(events: &[Event], size: usize) -> Hash {
        let leaves: Vec<Hash> = events[..size]
            .iter()
            .map(|e| merkle::leaf_hash(&e.canonical_bytes()))
            .collect();
        merkle::root(&leaves)
    }

    fn signed(events: &[Event], size: usize, key: &SigningKey) -> String {
        let cp = Checkpoint {
            origin: "pingate".into(),
            size: size as u64,
            root: root_at(events, size),
            timestamp: 1_700_000_000,
        };
        checkpoint::sign(&cp, "pingate", key).unwrap()
    }

    async fn run(
        events: &[Event],
        stored: Vec<Expectation>,
        held: Option<Expectation>,
    ) -> Result<Verified, VerifyError> {
        let ev = futures_util::stream::iter(events.iter().cloned().map(Ok));
        let cps = futures_util::stream::iter(stored.into_iter().map(Ok));
        verify_log(ev, cps, held, |_| {}).await
    }

    fn expect(size: usize, root: Hash) -> Expectation {
        Expectation {
            size: size as u64,
            root: Ok(root),
            label: "stored checkpoint",
        }
    }

    fn broken_at(r: Result<Verified, VerifyError>) -> (i64, String) {
        match r {
            Err(VerifyError::Broken(e)) => (e.seq, e.reason),
            other => panic!("expected a broken log, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn checkpoints_of_the_same_log_verify_at_every_size() {
        let events = log(40);
        let stored = [0, 1, 7, 8, 33, 40]
            .map(|n| expect(n, root_at(&events, n)))
            .to_vec();
        let v = run(&events, stored, Some(expect(13, root_at(&events, 13))))
            .await
            .unwrap();
        assert_eq!((v.events, v.checkpoints), (40, 6));
        assert_eq!(v.root, root_at(&events, 40));
    }

    #[tokio::test]
    async fn truncation_is_caught_only_against_a_checkpoint_beyond_the_end() {
        let events = log(20);
        let held = expect(20, root_at(&events, 20));
        assert!(run(&events[..15], vec![], None).await.is_ok());
        let (seq, reason) = broken_at(run(&events[..15], vec![], Some(held)).await);
        assert_eq!(seq, 16);
        assert!(reason.contains("truncated"), "{reason}");
    }

    #[tokio::test]
    async fn a_rewritten_history_is_caught_by_the_checkpoint_that_covers_it() {
        let events = log(20);
        let held = expect(10, root_at(&events, 10));
        // Event 4 rewritten and every hash after it recomputed: the chain
        // alone verifies, the checkpoint does not.
        let mut forged = events.clone();
        forged[3].actor = "mallory".into();
        for i in 3..forged.len() {
            if i > 3 {
                forged[i].prev_hash = forged[i - 1].hash;
            }
            forged[i].hash = forged[i].compute_hash();
        }
        assert!(run(&forged, vec![], None).await.is_ok());
        let (seq, reason) = broken_at(run(&forged, vec![], Some(held)).await);
        assert_eq!(seq, 10);
        assert!(reason.contains("does not match"), "{reason}");
    }

    #[tokio::test]
    async fn a_stored_checkpoint_with_a_bad_signature_is_named_in_log_order() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let events = log(12);
        let good = StoredCheckpoint {
            size: 5,
            root: root_at(&events, 5),
            created_at: 0,
            text: signed(&events, 5, &key),
        };
        let mut bad = StoredCheckpoint {
            size: 9,
            root: root_at(&events, 9),
            created_at: 0,
            text: signed(&events, 9, &key),
        };
        bad.text = bad
            .text
            .replace("timestamp 1700000000", "timestamp 1700000001");
        let vk = key.verifying_key();
        let stored = vec![
            stored_expectation(&good, "pingate", &vk),
            stored_expectation(&bad, "pingate", &vk),
        ];
        let (seq, reason) = broken_at(run(&events, stored, None).await);
        assert_eq!(seq, 9);
        assert!(reason.contains("signature"), "{reason}");
        // A chain error before it comes first.
        let mut edited = events.clone();
        edited[2].outcome = "failure".into();
        let stored = vec![stored_expectation(&bad, "pingate", &vk)];
        assert_eq!(broken_at(run(&edited, stored, None).await).0, 3);
    }

    #[test]
    fn a_held_checkpoint_must_be_signed_by_the_pinned_key() {
        let events = log(3);
        let text = signed(&events, 3, &SigningKey::from_bytes(&[1; 32]));
        let other = SigningKey::from_bytes(&[2; 32]).verifying_key();
        assert!(held_expectation(&text, "pingate", &other).is_err());
        let own = SigningKey::from_bytes(&[1; 32]).verifying_key();
        assert_eq!(held_expectation(&text, "pingate", &own).unwrap().size, 3);
    }
}
