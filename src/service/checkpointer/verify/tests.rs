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
                NewEvent::new(
                    EventKind::CallReceived,
                    "provider:example",
                    Outcome::Success,
                )
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
