//! `vonage`: a Vonage webhook as `Header: value` lines, a blank line and
//! the body. Lines read: `authorization` (the bearer JWT) and `x-fuzz-now`
//! (the server's time in seconds; 1_700_000_000 when absent). The secret
//! is [`SECRET`], the one `tests/vectors/vonage_sdk.json` signs with.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use pingate::providers::vonage::signature::{SignatureError, TOLERANCE_SECS, payload_hash, verify};
use pingate::providers::vonage::sms_signature;
use pingate::providers::vonage::webhook::{Answer, Event, Input, Receipt, receipt_params};
use sha2::{Digest, Sha256};

pub const SECRET: &[u8] = b"ZYtdTtGV3BCFN7tWmOWr1md66XsquMggr4W2cTtXtcPgfnI0Xw";
const DEFAULT_NOW: i64 = 1_700_000_000;

/// `Bearer` + an HS256 JWT over `claims`, made without pingate's verifier.
fn token(claims: &serde_json::Value) -> String {
    let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let head = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    let signed = format!("{}.{}", enc(&head), enc(claims));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET).expect("any key length");
    mac.update(signed.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("Bearer {signed}.{sig}")
}

/// `verify` on the request as written; then the same body under a token
/// signed with the fuzz secret verifies exactly at a fresh `iat`, and the
/// parsers never panic and accept only well-formed ids.
pub fn vonage(data: &[u8]) {
    let Some(raw) = crate::lines::split(data) else {
        return;
    };
    let now = raw
        .get("x-fuzz-now")
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_NOW);
    if let Ok(claims) = verify(SECRET, raw.get("authorization"), raw.body, now) {
        assert!(now.abs_diff(claims.iat) <= 300, "a stale token verified");
        assert!(!claims.jti.is_empty());
    }

    let iat = now.clamp(0, 999_999_999_999);
    let hash = hex::encode(Sha256::digest(raw.body));
    assert_eq!(payload_hash(raw.body), hash);
    let good = token(&serde_json::json!({"iat": iat, "jti": "fuzz", "payload_hash": hash}));
    assert!(
        verify(SECRET, Some(&good), raw.body, iat).is_ok(),
        "a correct token failed"
    );
    assert_eq!(
        verify(SECRET, Some(&good), raw.body, iat + TOLERANCE_SECS + 1),
        Err(SignatureError::Stale)
    );
    let mut other = raw.body.to_vec();
    other.push(b' ');
    assert_eq!(
        verify(SECRET, Some(&good), &other, iat),
        Err(SignatureError::BodyMismatch)
    );

    let plausible =
        |id: &str| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
    if let Ok(a) = Answer::from_json(raw.body) {
        assert!(plausible(&a.call_id));
    }
    if let Ok(text) = std::str::from_utf8(raw.body)
        && let Ok(a) = Answer::from_query(text)
    {
        assert!(plausible(&a.call_id));
    }
    if let Ok(i) = Input::from_json(raw.body) {
        assert!(plausible(&i.call_id));
    }
    if let Ok(e) = Event::from_json(raw.body) {
        assert!(plausible(&e.call_id));
    }
    for json in [true, false] {
        let Ok(params) = receipt_params(raw.body, json) else {
            continue;
        };
        if let Ok(r) = Receipt::from_params(&params) {
            assert!(plausible(&r.message_id) && !r.status.is_empty());
        }
        if sms_signature::verify(SECRET, &params, now).is_ok() {
            let ts = params.iter().find(|(k, _)| k == "timestamp");
            let fresh = ts.and_then(|(_, t)| t.parse::<i64>().ok());
            assert!(
                fresh.is_some_and(|t| now.abs_diff(t) <= 300),
                "a stale sig verified"
            );
        }
    }
}
