use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::*;

/// Judged by Vonage's SDK (tests/vectors/gen_vonage.py).
const SDK_VECTORS: &str = include_str!("../../../../tests/vectors/vonage_sdk.json");
/// The shared set: Vonage's SDK test tokens and computed requests.
const SHARED_VECTORS: &str = include_str!("../../../../tests/vectors/vonage.json");

fn authorization(v: &Value) -> Option<&str> {
    v["headers"]["Authorization"].as_str()
}

#[test]
fn every_sdk_vector_gives_its_verdict() {
    let vectors: Vec<Value> = serde_json::from_str(SDK_VECTORS).unwrap();
    assert!(vectors.len() >= 15);
    for v in &vectors {
        let id = v["id"].as_str().unwrap();
        let secret = v["secret"].as_str().unwrap().as_bytes();
        let body = v["body"].as_str().unwrap().as_bytes();
        let now = v["now"].as_i64().unwrap();
        assert_eq!(payload_hash(body), v["expected_payload_hash"], "{id}");
        let got = verify(secret, authorization(v), body, now);
        assert_eq!(got.is_ok(), v["expected_valid"], "{id}: {got:?}");
        // The SDK's own verdict is on the signature alone.
        let token = bearer(authorization(v)).or_else(|| {
            authorization(v)
                .and_then(|a| a.split_once(' '))
                .map(|(_, t)| t)
        });
        let sdk = verify_signature(secret, token.unwrap()).is_ok();
        assert_eq!(sdk, v["sdk_valid"], "{id}: signature only");
    }
}

#[test]
fn every_shared_vector_gives_its_verdict() {
    let vectors: Vec<Value> = serde_json::from_str(SHARED_VECTORS).unwrap();
    assert_eq!(vectors.len(), 8);
    for v in &vectors {
        let id = v["id"].as_str().unwrap();
        let secret = v["secret"].as_str().unwrap().as_bytes();
        let expected = v["expected_valid"].as_bool().unwrap();
        match (v["body"].as_str(), v["now_unix"].as_i64()) {
            // A request: the whole check at the vector's time.
            (Some(body), Some(now)) => {
                let got = verify(secret, authorization(v), body.as_bytes(), now);
                assert_eq!(got.is_ok(), expected, "{id}: {got:?}");
            }
            // An SDK test token without its body: the signature only.
            _ => {
                let token = bearer(authorization(v)).unwrap();
                let got = verify_signature(secret, token);
                assert_eq!(got.is_ok(), expected, "{id}: {got:?}");
                if let Ok(claims) = got {
                    assert_eq!(claims, v["decoded_claims"], "{id}");
                }
            }
        }
    }
}

/// An HS256 JWT made without this module: HMAC-SHA256 over
/// `base64url(header).base64url(claims)`.
fn sign(secret: &[u8], claims: &Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signed = format!(
        "{}.{}",
        enc(&json!({"alg": "HS256", "typ": "JWT"})),
        enc(claims)
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(signed.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("Bearer {signed}.{sig}")
}

fn claims_for(body: &[u8], iat: i64) -> Value {
    json!({"iat": iat, "jti": "j-1", "iss": "Vonage", "payload_hash": hex::encode(Sha256::digest(body))})
}

#[test]
fn refusals_name_their_reason() {
    let s = b"secret";
    let good = sign(s, &claims_for(b"x", 100));
    assert_eq!(
        verify(s, Some(&good), b"x", 100),
        Ok(Claims {
            iat: 100,
            jti: "j-1".into()
        })
    );
    let cases: [(Option<String>, &[u8], i64, SignatureError); 9] = [
        (None, b"x", 100, SignatureError::MissingToken),
        (
            Some("Bearer a.b".into()),
            b"x",
            100,
            SignatureError::Malformed,
        ),
        (
            Some(good.replace("Bearer ", "Basic ")),
            b"x",
            100,
            SignatureError::MissingToken,
        ),
        (
            Some(sign(b"other", &claims_for(b"x", 100))),
            b"x",
            100,
            SignatureError::Mismatch,
        ),
        (Some(good.clone()), b"y", 100, SignatureError::BodyMismatch),
        (Some(good.clone()), b"x", 401, SignatureError::Stale),
        (
            Some(sign(s, &json!({"iat": 100, "jti": "j"}))),
            b"x",
            100,
            SignatureError::MissingPayloadHash,
        ),
        (
            Some(sign(
                s,
                &json!({"jti": "j", "payload_hash": payload_hash(b"x")}),
            )),
            b"x",
            100,
            SignatureError::MissingIat,
        ),
        (
            Some(sign(
                s,
                &json!({"iat": 100, "payload_hash": payload_hash(b"x")}),
            )),
            b"x",
            100,
            SignatureError::MissingJti,
        ),
    ];
    for (auth, body, now, want) in cases {
        assert_eq!(verify(s, auth.as_deref(), body, now), Err(want), "{auth:?}");
    }
    let (head, rest) = good.split_once('.').unwrap();
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
    let swapped = format!("Bearer {none}.{rest}");
    assert!(head.starts_with("Bearer "));
    assert_eq!(
        verify(s, Some(&swapped), b"x", 100),
        Err(SignatureError::Algorithm)
    );
}

proptest! {
    /// A token signed independently (the signer above never calls this
    /// module) verifies exactly when its iat is within 300 s, and no change
    /// to the body, secret or signature does.
    #[test]
    fn independent_tokens_verify_exactly_when_fresh(
        secret in proptest::collection::vec(any::<u8>(), 1..64),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        iat in 1_000_000i64..4_000_000_000,
        skew in -700i64..700,
        flip in any::<prop::sample::Index>(),
    ) {
        let auth = sign(&secret, &claims_for(&body, iat));
        let now = iat + skew;
        prop_assert_eq!(verify(&secret, Some(&auth), &body, now).is_ok(), skew.abs() <= TOLERANCE_SECS);
        if !body.is_empty() {
            let mut changed = body.clone();
            changed[flip.index(body.len())] ^= 0x01;
            prop_assert_eq!(verify(&secret, Some(&auth), &changed, iat), Err(SignatureError::BodyMismatch));
        }
        let mut other = secret.clone();
        other[0] ^= 0xff;
        prop_assert_eq!(verify(&other, Some(&auth), &body, iat), Err(SignatureError::Mismatch));
        let mut forged = auth.clone().into_bytes();
        let at = forged.len() - 1 - flip.index(20);
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        if forged != auth {
            prop_assert!(verify(&secret, Some(&forged), &body, iat).is_err());
        }
    }

    #[test]
    fn verify_never_panics(
        auth in proptest::option::of(".{0,300}"),
        body in proptest::collection::vec(any::<u8>(), 0..100),
        now in any::<i64>(),
    ) {
        let _ = verify(b"k", auth.as_deref(), &body, now);
    }
}

#[test]
fn a_token_id_is_one_to_128_characters() {
    let s = b"secret";
    let with_jti = |jti: &str| {
        let mut claims = claims_for(b"x", 100);
        claims["jti"] = json!(jti);
        verify(s, Some(&sign(s, &claims)), b"x", 100)
    };
    let longest = "j".repeat(128);
    assert_eq!(with_jti(&longest).map(|c| c.jti), Ok(longest.clone()));
    assert_eq!(with_jti(""), Err(SignatureError::MissingJti));
    assert_eq!(
        with_jti(&format!("{longest}j")),
        Err(SignatureError::MissingJti)
    );
}

#[test]
fn a_token_is_read_up_to_4096_bytes() {
    let s = b"secret";
    // Base64 moves the length by one to three bytes per claims byte, so two
    // paddings are tried to find a signed token of exactly each length.
    let token_of_len = |len: usize| {
        (2000..3500)
            .flat_map(|pad| (0..4).map(move |extra| (pad, extra)))
            .map(|(pad, extra)| {
                let mut claims = claims_for(b"x", 100);
                claims["pad"] = json!("p".repeat(pad));
                claims["k"] = json!("k".repeat(extra));
                sign(s, &claims).trim_start_matches("Bearer ").to_string()
            })
            .find(|t| t.len() == len)
            .unwrap_or_else(|| panic!("no token of {len} bytes"))
    };
    assert!(verify_signature(s, &token_of_len(4096)).is_ok());
    assert_eq!(
        verify_signature(s, &token_of_len(4097)),
        Err(SignatureError::Malformed)
    );
}
