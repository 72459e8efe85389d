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
mod tests;
