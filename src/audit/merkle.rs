//! The audit log's Merkle tree, as defined by RFC 6962 / RFC 9162 §2.1:
//! hashing, an incremental root accumulator, proofs planned as the leaf
//! ranges whose roots they carry (so a store of perfect-subtree roots can
//! answer them without the whole log), and proof verification. Pure
//! functions, no I/O.

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, an interior node or a tree root.
pub type Hash = [u8; 32];

/// Why a proof could not be built or did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew { old: u64, new: u64 },
    #[error("a consistency proof from the empty tree proves nothing")]
    EmptyOldTree,
    #[error("the proof is empty but these tree sizes need one")]
    EmptyProof,
    #[error("the proof has more hashes than these tree sizes allow")]
    ProofTooLong,
    #[error("the proof has fewer hashes than these tree sizes need")]
    ProofTooShort,
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("the proof does not lead to the old root")]
    OldRootMismatch,
    #[error("the proof does not lead to the new root")]
    NewRootMismatch,
}

/// SHA-256(0x00 ‖ data): the prefix keeps leaves and nodes in separate domains
/// so a node can never be passed off as a leaf (second-preimage resistance).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// Builds a tree's root one leaf at a time while holding only the roots of
/// its perfect subtrees (one per set bit of the size, so at most 64 hashes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accumulator {
    size: u64,
    /// Perfect subtree roots, largest (leftmost) first; subtree `i` covers
    /// `2^k` leaves where `k` is the `i`-th highest set bit of `size`.
    frontier: Vec<Hash>,
}

impl Accumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one leaf hash (the output of [`leaf_hash`]).
    pub fn push(&mut self, leaf_hash: Hash) {
        self.push_noting(leaf_hash, |_, _| {});
    }

    /// Appends one leaf hash and hands `completed` every perfect subtree of
    /// height one or more that this leaf completes, smallest first.
    pub fn push_noting(&mut self, leaf_hash: Hash, mut completed: impl FnMut(Subtree, &Hash)) {
        // Each trailing one bit of the old size is a perfect subtree of the
        // same height as the carry: merge them like a binary increment.
        let mut carry = leaf_hash;
        let mut n = self.size;
        let end = self.size + 1;
        let mut level = 0;
        while n & 1 == 1 {
            let Some(left) = self.frontier.pop() else {
                break; // unreachable: one frontier entry per set bit
            };
            carry = node_hash(&left, &carry);
            level += 1;
            completed(
                Subtree {
                    level,
                    index: (end >> level) - 1,
                },
                &carry,
            );
            n >>= 1;
        }
        self.frontier.push(carry);
        self.size += 1;
    }

    /// Number of leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree head: RFC 6962 puts the largest perfect subtree on the left
    /// and folds the remainder right-to-left.
    pub fn root(&self) -> Hash {
        let mut subtrees = self.frontier.iter().rev();
        let Some(last) = subtrees.next() else {
            return empty_root();
        };
        subtrees.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// Height of the perfect subtrees ("tiles", 256 leaves) whose roots the
/// audit store keeps so that proofs need not re-read the whole log.
pub const TILE_LEVEL: u32 = 8;

/// A perfect subtree: the `2^level` leaves from `index << level` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtree {
    pub level: u32,
    pub index: u64,
}

impl Subtree {
    pub fn start(&self) -> u64 {
        self.index << self.level
    }

    pub fn end(&self) -> u64 {
        (self.index + 1) << self.level
    }
}

/// A run of leaves `[start, end)` whose MTH a proof needs.
pub type LeafRange = std::ops::Range<u64>;

/// The perfect subtrees whose roots, folded right to left (see
/// [`fold_subtrees`]), give MTH of `range`: one per set bit of its length,
/// largest first. Every range a proof needs starts at a multiple of its
/// largest subtree, so each is aligned and can be looked up by position.
pub fn range_subtrees(range: &LeafRange) -> Vec<Subtree> {
    let mut out = Vec::new();
    let mut start = range.start;
    let mut len = range.end.saturating_sub(range.start);
    while len > 0 {
        let level = len.ilog2();
        debug_assert_eq!(start % (1 << level), 0, "unaligned range {range:?}");
        out.push(Subtree {
            level,
            index: start >> level,
        });
        start += 1 << level;
        len -= 1 << level;
    }
    out
}

/// MTH of a range from the roots of its [`range_subtrees`], in that order.
pub fn fold_subtrees(roots: &[Hash]) -> Hash {
    let mut rev = roots.iter().rev();
    let Some(last) = rev.next() else {
        return empty_root();
    };
    rev.fold(*last, |acc, left| node_hash(left, &acc))
}

/// The leaf ranges whose MTHs, in order, form PATH(index, D[size])
/// (RFC 9162 §2.1.3.1).
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<LeafRange>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path_ranges(index, 0..size, &mut out);
    Ok(out)
}

fn path_ranges(m: u64, r: LeafRange, out: &mut Vec<LeafRange>) {
    let n = r.end - r.start;
    if n <= 1 {
        return;
    }
    let k = 1 << (n - 1).ilog2();
    let mid = r.start + k;
    if m < k {
        path_ranges(m, r.start..mid, out);
        out.push(mid..r.end);
    } else {
        path_ranges(m - k, mid..r.end, out);
        out.push(r.start..mid);
    }
}

/// The leaf ranges whose MTHs, in order, form PROOF(old_size, D[size])
/// (RFC 9162 §2.1.4.1). Equal sizes give no ranges; an old size of zero is
/// refused, matching [`verify_consistency`].
pub fn consistency_ranges(old_size: u64, size: u64) -> Result<Vec<LeafRange>, ProofError> {
    if old_size > size {
        return Err(ProofError::OldLargerThanNew {
            old: old_size,
            new: size,
        });
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    let mut out = Vec::new();
    subproof_ranges(old_size, 0..size, true, &mut out);
    Ok(out)
}

fn subproof_ranges(m: u64, r: LeafRange, whole_old_tree: bool, out: &mut Vec<LeafRange>) {
    let n = r.end - r.start;
    if m == n {
        // The verifier already knows the old root, so it is only sent when
        // this subtree is a strict part of the old tree.
        if !whole_old_tree {
            out.push(r);
        }
        return;
    }
    let k = 1 << (n - 1).ilog2();
    let mid = r.start + k;
    if m <= k {
        subproof_ranges(m, r.start..mid, whole_old_tree, out);
        out.push(mid..r.end);
    } else {
        subproof_ranges(m - k, mid..r.end, false, out);
        out.push(r.start..mid);
    }
}

/// MTH(D[n]) over leaf hashes, straight from the RFC definition.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let k = split_point(leaves.len());
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly below `n`; callers ensure `n >= 2`.
fn split_point(n: usize) -> usize {
    1 << (n - 1).ilog2()
}

/// PATH(index, D[n]) (RFC 9162 §2.1.3.1) for the tree of all `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let ranges = inclusion_ranges(index, leaves.len() as u64)?;
    Ok(ranges.iter().map(|r| root_of(leaves, r)).collect())
}

/// PROOF(old_size, D[n]) (RFC 9162 §2.1.4.1) from the first `old_size`
/// leaves to all of `leaves`. Equal sizes give the empty proof; an old size
/// of zero is refused, matching [`verify_consistency`].
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, ProofError> {
    let ranges = consistency_ranges(old_size, leaves.len() as u64)?;
    Ok(ranges.iter().map(|r| root_of(leaves, r)).collect())
}

fn root_of(leaves: &[Hash], r: &LeafRange) -> Hash {
    root(&leaves[r.start as usize..r.end as usize])
}

/// Verifies that `leaf` sits at `index` in the tree of `size` leaves with
/// head `root` (RFC 9162 §2.1.3.2). The step counter `sn` also checks the
/// proof length, so extra or missing hashes fail.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            // A right-edge node with no sibling moves up without hashing.
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `size1` leaves with head `root1` is a prefix of
/// the tree of `size2` leaves with head `root2` (RFC 9162 §2.1.4.2).
///
/// Edge cases the RFC leaves to the caller: equal sizes need an empty proof
/// and equal roots (and size 0 has exactly one root, [`empty_root`]); an old
/// size of 0 is refused, since every tree extends the empty one and there is
/// nothing to prove.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::OldLargerThanNew {
            old: size1,
            new: size2,
        });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::ProofTooLong);
        }
        if root1 != root2 || (size1 == 0 && *root1 != empty_root()) {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if proof.is_empty() {
        return Err(ProofError::EmptyProof);
    }

    // When the old tree is perfect its root is the first node of the path,
    // so the proof omits it and the verifier supplies it.
    let (first, rest) = if size1.is_power_of_two() {
        (root1, proof)
    } else {
        proof.split_first().ok_or(ProofError::EmptyProof)?
    };
    let (mut fnode, mut snode) = (size1 - 1, size2 - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *root1 {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *root2 {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
