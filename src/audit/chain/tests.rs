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
                NewEvent::new(
                    EventKind::CallReceived,
                    "provider:example",
                    Outcome::Success,
                )
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
    // A later run resumes from here.
    assert_eq!(v.last_hash(), events[49].hash);
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

/// The tile store gets the root of every completed 256-leaf tile, once,
/// and only from a verifier that was asked to keep them.
#[test]
fn completed_tiles_are_handed_over_once_when_kept() {
    let events = log(2 * 256 + 3);
    let tile = |i: usize| {
        let leaves: Vec<_> = events[i * 256..(i + 1) * 256]
            .iter()
            .map(|e| merkle::leaf_hash(&e.canonical_bytes()))
            .collect();
        merkle::root(&leaves)
    };
    let mut kept = ChainVerifier::new().keeping_tiles();
    let mut plain = ChainVerifier::new();
    for (i, e) in events.iter().enumerate() {
        kept.push(e).unwrap();
        plain.push(e).unwrap();
        if i + 1 == 300 {
            assert_eq!(kept.take_tiles(), vec![(0, tile(0))]);
            assert_eq!(kept.take_tiles(), vec![]);
        }
    }
    assert_eq!(kept.take_tiles(), vec![(1, tile(1))]);
    assert_eq!(plain.take_tiles(), vec![]);
    assert_eq!(kept.root(), plain.root());
}
