//! Streaming verification of the audit log: gapless `seq` from 1, every
//! hash recomputed, every `prev_hash` linked, and the Merkle root at any
//! size a checkpoint names. Constant memory, so a million events verify
//! from a cursor or an export file.

use super::event::{Event, GENESIS, Hash};
use super::merkle;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {seq}: {reason}")]
pub struct ChainError {
    pub seq: i64,
    pub reason: String,
}

#[derive(Debug)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: Hash,
    tree: merkle::Accumulator,
    /// Roots of the tiles completed so far, when asked to keep them.
    tiles: Option<Vec<(u64, Hash)>>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::resume(1, GENESIS)
    }

    /// Checks a run of events that starts at `next_seq` and links to
    /// `prev_hash`; its root is the Merkle root of that run alone.
    pub fn resume(next_seq: i64, prev_hash: Hash) -> Self {
        Self {
            next_seq,
            prev_hash,
            tree: merkle::Accumulator::new(),
            tiles: None,
        }
    }

    /// Also keeps the root of every tile the events complete (see
    /// [`merkle::TILE_LEVEL`]), for the tile store. From the start of the
    /// log only: tile indices count from the first event pushed.
    pub fn keeping_tiles(mut self) -> Self {
        self.tiles = Some(Vec::new());
        self
    }

    /// The tile roots kept since the last call.
    pub fn take_tiles(&mut self) -> Vec<(u64, Hash)> {
        self.tiles.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Checks the next event in order.
    pub fn push(&mut self, e: &Event) -> Result<(), ChainError> {
        let fail = |reason: String| ChainError { seq: e.seq, reason };
        if e.seq != self.next_seq {
            return Err(ChainError {
                seq: self.next_seq,
                reason: if e.seq > self.next_seq {
                    format!("missing: the next event present is {}", e.seq)
                } else {
                    format!(
                        "out of order: found seq {} where {} belongs",
                        e.seq, self.next_seq
                    )
                },
            });
        }
        if e.prev_hash != self.prev_hash {
            return Err(fail(
                "prev_hash does not link to the event before it".into(),
            ));
        }
        let bytes = e.canonical_bytes();
        let recomputed: Hash = {
            use sha2::{Digest, Sha256};
            Sha256::digest(&bytes).into()
        };
        if recomputed != e.hash {
            return Err(fail("content does not match its hash (edited)".into()));
        }
        let tiles = &mut self.tiles;
        self.tree
            .push_noting(merkle::leaf_hash(&bytes), |subtree, root| {
                if let Some(tiles) = tiles
                    && subtree.level == merkle::TILE_LEVEL
                {
                    tiles.push((subtree.index, *root));
                }
            });
        self.prev_hash = e.hash;
        self.next_seq += 1;
        Ok(())
    }

    /// Events verified so far (= the Merkle tree size).
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    pub fn last_hash(&self) -> Hash {
        self.prev_hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::{EventKind, NewEvent, Outcome};
    use proptest::prelude::*;

    pub(crate) fn log(n: usize) -> Vec<Event> {
        let mut prev = GENESIS;
        (1..=n as i64)
            .map(|seq| {
                let e = Event::from_new(
                    seq,
                    1_700_000_000_000 + seq * 1000,
                    prev,
                    NewEvent::new(EventKind::CallReceived, "provider:twilio", Outcome::Success)
                        .call(format!("call_{seq}"))
                        .detail("n", seq),
                );
                prev = e.hash;
                e
            })
            .collect()
    }

    fn verify(events: &[Event]) -> Result<(), ChainError> {
        let mut v = ChainVerifier::new();
        events.iter().try_for_each(|e| v.push(e))
    }

    #[test]
    fn an_untouched_log_verifies_and_its_root_matches_the_tree() {
        let events = log(50);
        let mut v = ChainVerifier::new();
        for e in &events {
            v.push(e).unwrap();
        }
        let leaves: Vec<_> = events
            .iter()
            .map(|e| merkle::leaf_hash(&e.canonical_bytes()))
            .collect();
        assert_eq!(v.root(), merkle::root(&leaves));
        assert_eq!(v.size(), 50);
    }

    #[derive(Debug, Clone)]
    enum Tamper {
        Edit(usize),
        Delete(usize),
        Swap(usize, usize),
        Rehash(usize),
    }

    fn tamper() -> impl Strategy<Value = (usize, Tamper)> {
        (2usize..60).prop_flat_map(|n| {
            (
                Just(n),
                prop_oneof![
                    (0..n).prop_map(Tamper::Edit),
                    (0..n - 1).prop_map(Tamper::Delete),
                    (0..n, 0..n)
                        .prop_filter("distinct", |(a, b)| a != b)
                        .prop_map(|(a, b)| Tamper::Swap(a, b)),
                    (0..n - 1).prop_map(Tamper::Rehash),
                ],
            )
        })
    }

    proptest! {
        /// Any single edit, deletion (but of the tail: that is truncation,
        /// caught only against a checkpoint), swap, or an edit whose own
        /// hash is recomputed, is caught.
        #[test]
        fn any_single_tampering_is_caught((n, t) in tamper()) {
            let mut events = log(n);
            match t {
                Tamper::Edit(i) => events[i].actor.push('x'),
                Tamper::Delete(i) => { events.remove(i); }
                Tamper::Swap(a, b) => events.swap(a, b),
                Tamper::Rehash(i) => {
                    events[i].detail = serde_json::json!({"n": -1});
                    events[i].hash = events[i].compute_hash();
                }
            }
            prop_assert!(verify(&events).is_err());
        }
    }

    #[test]
    fn the_first_bad_seq_is_named() {
        let mut events = log(10);
        events[4].outcome = "failure".into();
        assert_eq!(verify(&events).unwrap_err().seq, 5);
        let mut events = log(10);
        events.remove(6);
        let err = verify(&events).unwrap_err();
        assert_eq!(err.seq, 7);
        assert!(err.reason.contains("missing"), "{err}");
    }
}
