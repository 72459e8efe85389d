use super::*;
use crate::audit::checkpoint::Checkpoint;
use ed25519_dalek::SigningKey;

fn signed(size: u64, key: &SigningKey) -> String {
    let cp = Checkpoint {
        origin: "pingate".into(),
        size,
        root: [size as u8; 32],
        timestamp: 1,
    };
    checkpoint::sign(&cp, "pingate", key).unwrap()
}

#[test]
fn the_anchor_only_moves_forward_and_must_carry_our_signature() {
    let dir = tempfile::tempdir().unwrap();
    let anchor = Anchor::beside(&dir.path().join("audit-signing.key"));
    let key = SigningKey::from_bytes(&[7; 32]);
    let vk = key.verifying_key();
    assert_eq!(anchor.load("pingate", &vk).unwrap(), None);
    anchor.store(&signed(10, &key), 10, "pingate", &vk).unwrap();
    anchor.store(&signed(4, &key), 4, "pingate", &vk).unwrap();
    assert_eq!(
        anchor.load("pingate", &vk).unwrap().map(|a| a.size),
        Some(10)
    );
    std::fs::write(anchor.path(), signed(99, &SigningKey::from_bytes(&[8; 32]))).unwrap();
    assert!(matches!(
        anchor.load("pingate", &vk),
        Err(AnchorError::Invalid { .. })
    ));
}

/// Only a missing file means "nothing signed yet": an anchor that exists
/// but cannot be read is an error, never a fresh start (which would accept
/// a rolled-back log).
#[test]
fn an_unreadable_anchor_is_an_error_not_a_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let anchor = Anchor::beside(&dir.path().join("audit-signing.key"));
    std::fs::create_dir(anchor.path()).unwrap();
    let vk = SigningKey::from_bytes(&[7; 32]).verifying_key();
    assert!(matches!(
        anchor.load("pingate", &vk),
        Err(AnchorError::Io { .. })
    ));
}

/// The refusal to sign (reported by /readyz) is held until
/// cleared.
#[test]
fn a_refusal_is_reported_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let anchor = Anchor::beside(&dir.path().join("audit-signing.key"));
    assert_eq!(anchor.refusal(), None);
    anchor.set_refused("the log was rolled back".into());
    assert_eq!(anchor.refusal().as_deref(), Some("the log was rolled back"));
    anchor.clear_refused();
    assert_eq!(anchor.refusal(), None);
}
