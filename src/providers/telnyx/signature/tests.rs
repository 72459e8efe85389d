use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;
use serde_json::Value;

use super::*;

/// Judged by Telnyx's SDK (tests/vectors/gen_telnyx.py).
const SDK_VECTORS: &str = include_str!("../../../../tests/vectors/telnyx.json");
/// Computed from the documented algorithm (the shared vector set).
const COMPUTED_VECTORS: &str = include_str!("../../../../tests/fixtures/telnyx.json");

fn key_of(b64: &str) -> [u8; 32] {
    crate::config::telnyx_public_key(b64).expect("vector key")
}

fn verdict(v: &Value, now_field: &str) -> Option<(String, bool, bool)> {
    let now = v[now_field].as_i64()?;
    let key = key_of(v["public_key"].as_str().or(v["secret"].as_str())?);
    let header = |name: &str| v["headers"][name].as_str();
    let body = v["body"].as_str().unwrap_or_default();
    let req = SignedRequest {
        signature: header(SIGNATURE_HEADER),
        timestamp: header(TIMESTAMP_HEADER),
        body: body.as_bytes(),
    };
    let got = verify(&key, &req, now).is_ok();
    let id = v["id"].as_str().unwrap_or("?").to_string();
    Some((id, v["expected_valid"].as_bool()?, got))
}

#[test]
fn every_sdk_vector_gives_the_sdks_verdict() {
    let vectors: Vec<Value> = serde_json::from_str(SDK_VECTORS).unwrap();
    assert!(vectors.len() >= 15);
    for v in &vectors {
        let (id, expected, got) = verdict(v, "now").expect("complete vector");
        assert_eq!(got, expected, "{id}: {}", v["sdk_error"]);
    }
}

#[test]
fn every_computed_vector_gives_its_expected_verdict() {
    let vectors: Vec<Value> = serde_json::from_str(COMPUTED_VECTORS).unwrap();
    let checked: Vec<_> = vectors
        .iter()
        .filter_map(|v| verdict(v, "now_unix"))
        .collect();
    assert!(checked.len() >= 8, "{}", checked.len());
    for (id, expected, got) in checked {
        assert_eq!(got, expected, "{id}");
    }
}

#[test]
fn refusals_name_their_reason() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let public = key.verifying_key().to_bytes();
    let sig = BASE64.encode(key.sign(b"100|x").to_bytes());
    let req = |s: Option<&'static str>, t: Option<&'static str>| SignedRequest {
        signature: s,
        timestamp: t,
        body: b"x",
    };
    let leaked: &'static str = Box::leak(sig.into_boxed_str());
    assert_eq!(
        verify(&public, &req(Some(leaked), Some("100")), 100),
        Ok(())
    );
    assert_eq!(
        verify(&public, &req(None, Some("100")), 100),
        Err(SignatureError::MissingSignature)
    );
    assert_eq!(
        verify(&public, &req(Some(leaked), None), 100),
        Err(SignatureError::MissingTimestamp)
    );
    assert_eq!(
        verify(&public, &req(Some(leaked), Some("+100")), 100),
        Err(SignatureError::BadTimestamp)
    );
    assert_eq!(
        verify(&public, &req(Some(leaked), Some("100")), 401),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        verify(&public, &req(Some("AAAA"), Some("100")), 100),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        verify(&public, &req(Some(leaked), Some("101")), 100),
        Err(SignatureError::Mismatch)
    );
}

/// Telnyx sends whole seconds (10 digits today); 12 digits are read, a
/// 13-digit value (milliseconds, say) is not a timestamp at all, even when
/// it is signed and equal to "now".
#[test]
fn timestamps_have_at_most_twelve_digits() {
    let key = SigningKey::from_bytes(&[9; 32]);
    let public = key.verifying_key().to_bytes();
    let check = |ts: &str| {
        let sig = BASE64.encode(key.sign(format!("{ts}|x").as_bytes()).to_bytes());
        let req = SignedRequest {
            signature: Some(&sig),
            timestamp: Some(ts),
            body: b"x",
        };
        verify(&public, &req, ts.parse().unwrap())
    };
    assert_eq!(check("999999999999"), Ok(()));
    assert_eq!(check("1000000000000"), Err(SignatureError::BadTimestamp));
}

proptest! {
    /// A request signed independently (the signer never calls `verify`)
    /// is accepted exactly when its timestamp is within 300 s, and no
    /// change to the body, timestamp or key is.
    #[test]
    fn independent_signatures_verify_exactly_when_fresh(
        seed in any::<[u8; 32]>(),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        sent in 1_000_000i64..4_000_000_000,
        skew in -700i64..700,
        flip in any::<prop::sample::Index>(),
    ) {
        let key = SigningKey::from_bytes(&seed);
        let public = key.verifying_key().to_bytes();
        let ts = sent.to_string();
        let mut message = format!("{ts}|").into_bytes();
        message.extend_from_slice(&body);
        let sig = BASE64.encode(key.sign(&message).to_bytes());
        let req = SignedRequest { signature: Some(&sig), timestamp: Some(&ts), body: &body };
        let now = sent + skew;
        prop_assert_eq!(verify(&public, &req, now).is_ok(), skew.abs() <= TOLERANCE_SECS);
        if !body.is_empty() {
            let mut changed = body.clone();
            changed[flip.index(body.len())] ^= 0x01;
            let tampered = SignedRequest { body: &changed, ..req };
            prop_assert!(verify(&public, &tampered, sent).is_err());
        }
        let later = (sent + 1).to_string();
        let moved = SignedRequest { timestamp: Some(&later), ..req };
        prop_assert!(verify(&public, &moved, sent).is_err());
        let other = SigningKey::from_bytes(&[seed[0] ^ 0xff; 32]).verifying_key().to_bytes();
        if other != public {
            prop_assert!(verify(&other, &req, sent).is_err());
        }
    }

    #[test]
    fn verify_never_panics(
        sig in proptest::option::of(".{0,100}"),
        ts in proptest::option::of(".{0,20}"),
        body in proptest::collection::vec(any::<u8>(), 0..100),
        now in any::<i64>(),
    ) {
        let key = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
        let req = SignedRequest { signature: sig.as_deref(), timestamp: ts.as_deref(), body: &body };
        let _ = verify(&key, &req, now);
    }
}
