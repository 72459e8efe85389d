//! Inclusion and consistency proofs from the live log. A proof is planned
//! as the leaf ranges whose roots it carries ([`merkle::inclusion_ranges`]);
//! each range splits into perfect subtrees, and each subtree's root comes
//! from the tile store (whole tiles of 256 events the checkpointer
//! verified) or from its own events, read and checked. A proof so reads
//! one row per tile and a few hundred events, not the whole log.
//!
//! Nothing read is trusted: events read must be intact, the event proved
//! must lead to the root, and a root at a size with a stored checkpoint
//! must match it. Otherwise the answer is 409 `audit-log-broken`.

use sqlx::AnyPool;

use crate::app::AppState;
use crate::audit::chain::{ChainError, ChainVerifier};
use crate::audit::event::Event;
use crate::audit::merkle::{self, Hash, LeafRange, Subtree, TILE_LEVEL};
use crate::service::{ServiceError, ServiceResult};
use crate::store::audit::{self as audit_store, AuditFilter};
use crate::store::{audit_tiles, checkpoints};

#[derive(Debug, Clone)]
pub struct InclusionProof {
    pub event: Event,
    pub size: u64,
    pub leaf: Hash,
    pub root: Hash,
    pub proof: Vec<Hash>,
}

/// Proves that event `seq` is leaf `seq - 1` of the tree of `size` events.
pub async fn inclusion_proof(
    state: &AppState,
    seq: u64,
    size: u64,
) -> ServiceResult<InclusionProof> {
    if seq == 0 {
        return Err(ServiceError::invalid("seq", "events are numbered from 1"));
    }
    if seq > size {
        return Err(ServiceError::invalid("seq", "must not exceed size"));
    }
    let tree = Tree::open(state.store.reader(), size).await?;
    let index = seq - 1;
    let event = tree.event(seq).await?;
    let leaf = merkle::leaf_hash(&event.canonical_bytes());
    let mut proof = Vec::new();
    for r in merkle::inclusion_ranges(index, size).map_err(bad_plan)? {
        proof.push(tree.range_root(&r).await?);
    }
    let root = tree.root_at(size).await?;
    if merkle::verify_inclusion(index, size, &leaf, &proof, &root).is_err() {
        return Err(disagrees(seq));
    }
    Ok(InclusionProof {
        event,
        size,
        leaf,
        root,
        proof,
    })
}

#[derive(Debug, Clone)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: Hash,
    pub to_root: Hash,
    pub proof: Vec<Hash>,
}

/// Proves the tree of `from` events is a prefix of the tree of `to`. From
/// 0 the proof is empty: every log extends the empty one.
pub async fn consistency_proof(
    state: &AppState,
    from: u64,
    to: u64,
) -> ServiceResult<ConsistencyProof> {
    if from > to {
        return Err(ServiceError::invalid("from", "must not exceed to"));
    }
    let tree = Tree::open(state.store.reader(), to).await?;
    let mut proof = Vec::new();
    if from > 0 {
        for r in merkle::consistency_ranges(from, to).map_err(bad_plan)? {
            proof.push(tree.range_root(&r).await?);
        }
    }
    let from_root = tree.root_at(from).await?;
    let to_root = tree.root_at(to).await?;
    if from > 0 && merkle::verify_consistency(from, to, &from_root, &to_root, &proof).is_err() {
        return Err(disagrees(from));
    }
    Ok(ConsistencyProof {
        from,
        to,
        from_root,
        to_root,
        proof,
    })
}

/// The first `size` events of the log, read as a Merkle tree.
struct Tree<'a> {
    pool: &'a AnyPool,
}

const TILE: u64 = 1 << TILE_LEVEL;

impl<'a> Tree<'a> {
    async fn open(pool: &'a AnyPool, size: u64) -> ServiceResult<Tree<'a>> {
        let head = checkpoints::head_seq(pool).await?;
        if size > head {
            return Err(ServiceError::invalid(
                "size",
                format!("the log has {head} events"),
            ));
        }
        Ok(Tree { pool })
    }

    /// MTH of the first `size` events, held against the checkpoint signed
    /// at that size, if there is one.
    async fn root_at(&self, size: u64) -> ServiceResult<Hash> {
        let root = self.range_root(&(0..size)).await?;
        if let Some(cp) = checkpoints::get(self.pool, size).await?
            && cp.root != root
        {
            return Err(broken(&ChainError {
                seq: size as i64,
                reason: format!(
                    "the log no longer matches the checkpoint signed at size {size}: an event or tile at or before it was altered"
                ),
            }));
        }
        Ok(root)
    }

    async fn range_root(&self, range: &LeafRange) -> ServiceResult<Hash> {
        let mut roots = Vec::new();
        for subtree in merkle::range_subtrees(range) {
            roots.push(self.subtree_root(subtree).await?);
        }
        Ok(merkle::fold_subtrees(&roots))
    }

    /// A perfect subtree's root: from stored tiles where it spans whole
    /// ones (a missing tile is read from its events), else from events.
    async fn subtree_root(&self, subtree: Subtree) -> ServiceResult<Hash> {
        if subtree.level < TILE_LEVEL {
            return self.events_root(subtree.start(), subtree.end()).await;
        }
        let (first, end) = (subtree.start() / TILE, subtree.end() / TILE);
        let mut stored = audit_tiles::range(self.pool, first, end)
            .await?
            .into_iter()
            .peekable();
        let mut tiles = Vec::with_capacity((end - first) as usize);
        for idx in first..end {
            match stored.next_if(|(i, _)| *i == idx) {
                Some((_, root)) => tiles.push(root),
                None => tiles.push(self.events_root(idx * TILE, (idx + 1) * TILE).await?),
            }
        }
        // A power-of-two run of tile roots: its MTH is the subtree's root.
        Ok(merkle::root(&tiles))
    }

    /// The root of events `start + 1 ..= end` (leaves `start..end`).
    async fn events_root(&self, start: u64, end: u64) -> ServiceResult<Hash> {
        Ok(self.checked(start, end).await?.1)
    }

    async fn event(&self, seq: u64) -> ServiceResult<Event> {
        let (mut events, _) = self.checked(seq - 1, seq).await?;
        events.pop().ok_or_else(|| missing(seq))
    }

    /// Events `start + 1 ..= end` and their Merkle root, each checked
    /// against its hash and linked to the event before the run (or the
    /// genesis) and to the one after it, if any: an event rewritten with its
    /// hash recomputed breaks a link even at the edge of the run.
    async fn checked(&self, start: u64, end: u64) -> ServiceResult<(Vec<Event>, Hash)> {
        let lead = u64::from(start > 0);
        let mut events = self.read(start - lead, end).await?;
        let mut chain = if lead == 1 {
            let before = events.remove(0);
            ChainVerifier::resume(before.seq + 1, before.hash)
        } else {
            ChainVerifier::new()
        };
        for e in &events {
            chain.push(e).map_err(|err| broken(&err))?;
        }
        let filter = AuditFilter {
            after_seq: Some(end as i64),
            ..AuditFilter::default()
        };
        if let Some(next) = audit_store::list(self.pool, &filter, 1).await?.first()
            && next.seq as u64 == end + 1
            && next.prev_hash != chain.last_hash()
        {
            return Err(broken(&ChainError {
                seq: next.seq,
                reason: "prev_hash does not link to the event before it".into(),
            }));
        }
        Ok((events, chain.root()))
    }

    /// Events `start + 1 ..= end`, all of them or an error naming the gap.
    async fn read(&self, start: u64, end: u64) -> ServiceResult<Vec<Event>> {
        let filter = AuditFilter {
            after_seq: Some(start as i64),
            ..AuditFilter::default()
        };
        let events = audit_store::list(self.pool, &filter, (end - start) as i64).await?;
        for (want, e) in (start + 1..=end).zip(&events) {
            if e.seq as u64 != want {
                return Err(missing(want));
            }
        }
        if (events.len() as u64) < end - start {
            return Err(missing(start + events.len() as u64 + 1));
        }
        Ok(events)
    }
}

/// What was read from events and what was read from tiles do not make one
/// tree: an event or a stored tile root was altered since it was verified.
fn disagrees(seq: u64) -> ServiceError {
    broken(&ChainError {
        seq: seq as i64,
        reason: "the events here do not agree with the stored tile roots (an event or a tile was altered since it was verified)".into(),
    })
}

fn missing(seq: u64) -> ServiceError {
    broken(&ChainError {
        seq: seq as i64,
        reason: "missing".into(),
    })
}

fn broken(err: &ChainError) -> ServiceError {
    ServiceError::conflict(
        "audit-log-broken",
        format!(
            "the audit log is not intact at event {}: {}; see /v1/audit/verify",
            err.seq, err.reason
        ),
        None,
    )
}

fn bad_plan(e: merkle::ProofError) -> ServiceError {
    ServiceError::from(e)
}
