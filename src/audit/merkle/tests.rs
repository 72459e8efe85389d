use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The RFC 6962 reference tree's leaves (hex), as in the vectors' README.
const REFERENCE_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the first n reference leaves, n = 0..=8.
const REFERENCE_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference_leaves() -> Vec<Hash> {
    REFERENCE_LEAVES
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).expect("hex leaf")))
        .collect()
}

fn hex_hash(s: &str) -> Hash {
    hex::decode(s).expect("hex").try_into().expect("32 bytes")
}

fn numbered_leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

#[test]
fn reference_tree_roots_match_rfc_6962() {
    let leaves = reference_leaves();
    for (n, want) in REFERENCE_ROOTS.iter().enumerate() {
        let want = hex_hash(want);
        assert_eq!(root(&leaves[..n]), want, "root() of {n} leaves");
        let mut acc = Accumulator::new();
        leaves[..n].iter().for_each(|l| acc.push(*l));
        assert_eq!(acc.size(), n as u64);
        assert_eq!(acc.root(), want, "Accumulator of {n} leaves");
    }
    assert_eq!(empty_root(), hex_hash(REFERENCE_ROOTS[0]));
}

#[test]
fn accumulator_matches_recursive_root_for_every_small_size() {
    let leaves = numbered_leaves(130);
    let mut acc = Accumulator::new();
    for n in 0..=leaves.len() {
        assert_eq!(acc.root(), root(&leaves[..n]), "size {n}");
        assert_eq!(acc.frontier.len(), n.count_ones() as usize);
        if let Some(l) = leaves.get(n) {
            acc.push(*l);
        }
    }
}

#[test]
fn accumulator_handles_a_million_leaves_in_constant_memory() {
    const N: u64 = 1_000_000;
    let mut acc = Accumulator::new();
    let mut peak = 0;
    for i in 0..N {
        acc.push(leaf_hash(&i.to_be_bytes()));
        peak = peak.max(acc.frontier.len());
    }
    assert_eq!(acc.size(), N);
    // One stored hash per bit of the size: at most 20 for a million leaves.
    assert!(peak <= 20, "frontier grew to {peak}");
    assert_eq!(acc.frontier.len(), N.count_ones() as usize);
    assert_eq!(acc.root(), root(&numbered_leaves(N)));
}

#[test]
fn generated_proofs_verify_for_every_small_tree() {
    let leaves = numbered_leaves(40);
    for n in 1..=leaves.len() {
        let tree = &leaves[..n];
        let head = root(tree);
        for i in 0..n {
            let proof = inclusion_proof(tree, i as u64).expect("proof");
            verify_inclusion(i as u64, n as u64, &tree[i], &proof, &head).expect("inclusion");
        }
        for m in 1..=n {
            let proof = consistency_proof(tree, m as u64).expect("proof");
            verify_consistency(m as u64, n as u64, &root(&tree[..m]), &head, &proof)
                .expect("consistency");
        }
    }
}

#[test]
fn proof_generation_rejects_impossible_requests() {
    let leaves = numbered_leaves(5);
    assert_eq!(
        inclusion_proof(&leaves, 5),
        Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
    );
    assert_eq!(
        inclusion_proof(&[], 0),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        consistency_proof(&leaves, 6),
        Err(ProofError::OldLargerThanNew { old: 6, new: 5 })
    );
    assert_eq!(consistency_proof(&leaves, 0), Err(ProofError::EmptyOldTree));
    assert_eq!(consistency_proof(&leaves, 5), Ok(vec![]));
}

#[test]
fn verifiers_name_the_failure() {
    let leaves = numbered_leaves(7);
    let head = root(&leaves);
    let proof = inclusion_proof(&leaves, 3).expect("proof");
    let longer = [proof.clone(), vec![[0; 32]]].concat();
    assert_eq!(
        verify_inclusion(3, 7, &leaves[3], &longer, &head),
        Err(ProofError::ProofTooLong)
    );
    assert_eq!(
        verify_inclusion(3, 7, &leaves[3], &proof[..2], &head),
        Err(ProofError::ProofTooShort)
    );
    assert_eq!(
        verify_inclusion(3, 7, &leaves[4], &proof, &head),
        Err(ProofError::RootMismatch)
    );

    let old = root(&leaves[..3]);
    let proof = consistency_proof(&leaves, 3).expect("proof");
    verify_consistency(3, 7, &old, &head, &proof).expect("valid");
    assert_eq!(
        verify_consistency(3, 7, &head, &head, &proof),
        Err(ProofError::OldRootMismatch)
    );
    assert_eq!(
        verify_consistency(3, 7, &old, &old, &proof),
        Err(ProofError::NewRootMismatch)
    );
    assert_eq!(
        verify_consistency(3, 7, &old, &head, &[]),
        Err(ProofError::EmptyProof)
    );
    assert_eq!(
        verify_consistency(0, 7, &empty_root(), &head, &[]),
        Err(ProofError::EmptyOldTree)
    );
    assert_eq!(
        verify_consistency(0, 0, &empty_root(), &empty_root(), &[]),
        Ok(())
    );
    assert_eq!(
        verify_consistency(0, 0, &head, &head, &[]),
        Err(ProofError::RootMismatch)
    );
}

// ---- known-answer vectors (transparency-dev/merkle testdata) ----

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/merkle"
    ))
    .join(kind)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("fixture directory") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn load(kind: &str) -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    json_files(&fixture_dir(kind), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read vector");
            let v = serde_json::from_str(&text).expect("vector JSON");
            (p, v)
        })
        .collect()
}

fn bytes(v: &Value) -> Vec<u8> {
    STANDARD
        .decode(v.as_str().expect("base64 string"))
        .expect("base64")
}

/// A vector value that must be a real hash (a leaf hash): `None` if it is not
/// 32 bytes, which our typed API cannot even be handed.
fn strict_hash(v: &Value) -> Option<Hash> {
    bytes(v).try_into().ok()
}

/// Roots and proof nodes are only compared or hashed, and upstream uses
/// short placeholders ("don't care 1", "") for them. Pad such values with
/// 0x80 then zeros: distinct placeholders stay distinct, and none can equal a
/// real SHA-256 output in practice.
fn lenient_hash(v: &Value) -> Hash {
    let b = bytes(v);
    if let Ok(h) = Hash::try_from(b.as_slice()) {
        return h;
    }
    assert!(b.len() < 32, "oversized placeholder");
    let mut h = [0; 32];
    h[..b.len()].copy_from_slice(&b);
    h[b.len()] = 0x80;
    h
}

fn proof_of(v: &Value) -> Vec<Hash> {
    match v {
        Value::Null => vec![],
        Value::Array(items) => items.iter().map(lenient_hash).collect(),
        other => panic!("proof is not an array: {other}"),
    }
}

fn wants_err(v: &Value) -> bool {
    v["wantErr"].as_bool().expect("wantErr")
}

#[test]
fn inclusion_vectors() {
    let vectors = load("inclusion");
    assert_eq!(vectors.len(), 98, "every inclusion vector file is present");
    let reference = reference_leaves();
    let mut compared = 0;
    for (path, v) in &vectors {
        let index = v["leafIdx"].as_u64().expect("leafIdx");
        let size = v["treeSize"].as_u64().expect("treeSize");
        let head = lenient_hash(&v["root"]);
        let proof = proof_of(&v["proof"]);
        let result = match strict_hash(&v["leafHash"]) {
            Some(leaf) => verify_inclusion(index, size, &leaf, &proof, &head)
                .map(|()| leaf)
                .map_err(|e| e.to_string()),
            None => Err("leaf hash is not 32 bytes".to_owned()),
        };
        assert_eq!(
            result.is_err(),
            wants_err(v),
            "{}: {result:?}",
            path.display()
        );

        // Happy paths over the reference tree: our generator must agree.
        let Ok(leaf) = result else { continue };
        let (i, n) = (index as usize, size as usize);
        if n <= reference.len() && reference[i] == leaf {
            let tree = &reference[..n];
            assert_eq!(
                inclusion_proof(tree, index),
                Ok(proof),
                "{}",
                path.display()
            );
            assert_eq!(root(tree), head, "{}", path.display());
            compared += 1;
        }
    }
    assert_eq!(compared, 5, "one happy path per numbered directory");
}

#[test]
fn consistency_vectors() {
    let vectors = load("consistency");
    assert_eq!(
        vectors.len(),
        98,
        "every consistency vector file is present"
    );
    let reference = reference_leaves();
    let mut compared = 0;
    for (path, v) in &vectors {
        let size1 = v["size1"].as_u64().expect("size1");
        let size2 = v["size2"].as_u64().expect("size2");
        let root1 = lenient_hash(&v["root1"]);
        let root2 = lenient_hash(&v["root2"]);
        let proof = proof_of(&v["proof"]);
        let result = verify_consistency(size1, size2, &root1, &root2, &proof);
        assert_eq!(
            result.is_err(),
            wants_err(v),
            "{}: {result:?}",
            path.display()
        );

        let n = size2 as usize;
        if result.is_ok() && n <= reference.len() && root(&reference[..n]) == root2 {
            let tree = &reference[..n];
            assert_eq!(
                consistency_proof(tree, size1),
                Ok(proof),
                "{}",
                path.display()
            );
            assert_eq!(root(&tree[..size1 as usize]), root1, "{}", path.display());
            compared += 1;
        }
    }
    assert_eq!(compared, 5, "one happy path per numbered directory");
}

// ---- properties ----

/// Flips one byte, chosen by `at`, across the concatenation of `parts`.
fn flip(parts: &mut [&mut [Hash]], at: prop::sample::Index, mask: u8) {
    let total: usize = parts.iter().map(|p| p.len() * 32).sum();
    let mut pos = at.index(total);
    for part in parts.iter_mut() {
        if pos < part.len() * 32 {
            part[pos / 32][pos % 32] ^= mask;
            return;
        }
        pos -= part.len() * 32;
    }
}

proptest! {
    #[test]
    fn random_trees_prove_inclusion(
        n in 1u64..200,
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let leaves = numbered_leaves(n);
        let index = which.index(leaves.len());
        let leaf = leaves[index];
        let mut head = root(&leaves);
        let mut proof = inclusion_proof(&leaves, index as u64).expect("proof");
        prop_assert_eq!(verify_inclusion(index as u64, n, &leaf, &proof, &head), Ok(()));

        flip(&mut [&mut proof, std::slice::from_mut(&mut head)], at, mask);
        prop_assert!(verify_inclusion(index as u64, n, &leaf, &proof, &head).is_err());
    }

    #[test]
    fn random_trees_prove_consistency(
        n in 1u64..200,
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let leaves = numbered_leaves(n);
        let old = which.index(leaves.len()) + 1;
        let mut root1 = root(&leaves[..old]);
        let mut root2 = root(&leaves);
        let mut proof = consistency_proof(&leaves, old as u64).expect("proof");
        prop_assert_eq!(verify_consistency(old as u64, n, &root1, &root2, &proof), Ok(()));

        flip(
            &mut [
                &mut proof,
                std::slice::from_mut(&mut root1),
                std::slice::from_mut(&mut root2),
            ],
            at,
            mask,
        );
        prop_assert!(verify_consistency(old as u64, n, &root1, &root2, &proof).is_err());
    }
}

/// Every perfect subtree the accumulator reports has the root of its
/// leaves, and every perfect subtree inside the tree is reported once.
#[test]
fn the_accumulator_reports_each_completed_subtree_once_with_its_root() {
    let leaves = numbered_leaves(300);
    let mut acc = Accumulator::new();
    let mut seen = std::collections::BTreeMap::new();
    for leaf in &leaves {
        acc.push_noting(*leaf, |st, h| {
            assert!(seen.insert(st, *h).is_none(), "{st:?} reported twice");
        });
    }
    for level in 1..=8u32 {
        for index in 0..(300u64 >> level) {
            let st = Subtree { level, index };
            let expected = root(&leaves[st.start() as usize..st.end() as usize]);
            assert_eq!(seen.remove(&st), Some(expected), "{st:?}");
        }
    }
    assert!(seen.is_empty(), "reported beyond the tree: {seen:?}");
}

/// The roots of a range's perfect subtrees, folded, give the range's MTH.
fn range_root_from_subtrees(leaves: &[Hash], r: &LeafRange) -> Hash {
    let roots: Vec<Hash> = range_subtrees(r)
        .iter()
        .map(|st| {
            assert_eq!(st.start() % (1 << st.level), 0, "aligned");
            root(&leaves[st.start() as usize..st.end() as usize])
        })
        .collect();
    fold_subtrees(&roots)
}

proptest! {
    #[test]
    fn proof_ranges_are_aligned_runs_of_perfect_subtrees(
        n in 1u64..600,
        which in any::<prop::sample::Index>(),
    ) {
        let leaves = numbered_leaves(n);
        let m = which.index(leaves.len()) as u64;
        let whole = 0..n;
        prop_assert_eq!(range_root_from_subtrees(&leaves, &whole), root(&leaves));
        let ranges = inclusion_ranges(m, n)
            .unwrap()
            .into_iter()
            .chain(consistency_ranges(m + 1, n).unwrap());
        for r in ranges {
            prop_assert!(r.start < r.end && r.end <= n, "{:?}", r);
            prop_assert_eq!(
                range_root_from_subtrees(&leaves, &r),
                root(&leaves[r.start as usize..r.end as usize])
            );
        }
    }
}
