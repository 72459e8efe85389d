//! `telnyx`: a Telnyx webhook as `Header: value` lines, a blank line and
//! the body. Lines read: `telnyx-signature-ed25519`, `telnyx-timestamp`
//! and `x-fuzz-now` (the server's time in seconds; the timestamp's when
//! absent). The key is the fuzz key pair below (the seed of RFC 8032's
//! first test vector, as in `tests/vectors/telnyx.json`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey};
use pingate::providers::form::Form;
use pingate::providers::telnyx::signature::{
    SignatureError, SignedRequest, TOLERANCE_SECS, signed_payload, verify,
};
use pingate::providers::telnyx::webhook::{Gather, MessageEvent, Status, Voice};

const SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];

struct Raw<'a> {
    signature: Option<&'a str>,
    timestamp: Option<&'a str>,
    now: Option<i64>,
    body: &'a [u8],
}

fn split(data: &[u8]) -> Option<Raw<'_>> {
    let (headers, body) = crate::header_lines(data)?;
    let mut raw = Raw {
        signature: None,
        timestamp: None,
        now: None,
        body,
    };
    for (name, value) in headers {
        match name.as_str() {
            "telnyx-signature-ed25519" => raw.signature = Some(value),
            "telnyx-timestamp" => raw.timestamp = Some(value),
            "x-fuzz-now" => raw.now = value.parse().ok(),
            _ => {}
        }
    }
    Some(raw)
}

/// `verify` on the request as written; then the same body signed by the
/// fuzz key verifies exactly when its timestamp is fresh, and the parsers
/// never panic and accept only well-formed call ids.
pub fn telnyx(data: &[u8]) {
    let Some(raw) = split(data) else { return };
    let key = SigningKey::from_bytes(&SEED);
    let public = key.verifying_key().to_bytes();
    let given_ts = raw.timestamp.and_then(|t| t.parse::<i64>().ok());
    let now = raw.now.or(given_ts).unwrap_or(1_700_000_000);
    let req = SignedRequest {
        signature: raw.signature,
        timestamp: raw.timestamp,
        body: raw.body,
    };
    let verdict = verify(&public, &req, now);
    if verdict.is_ok() {
        assert!(
            given_ts.is_some_and(|t| now.abs_diff(t) <= 300),
            "a stale request verified"
        );
    }

    // Signed correctly, the same body verifies at its timestamp and not
    // 301 s later; signed for another timestamp, it never does.
    let ts = given_ts
        .filter(|t| (0..=999_999_999_999).contains(t))
        .unwrap_or(now.clamp(0, 999_999_999_999));
    let ts_text = ts.to_string();
    let sig = BASE64.encode(key.sign(&signed_payload(&ts_text, raw.body)).to_bytes());
    let good = SignedRequest {
        signature: Some(&sig),
        timestamp: Some(&ts_text),
        body: raw.body,
    };
    assert_eq!(
        verify(&public, &good, ts),
        Ok(()),
        "a correct signature failed"
    );
    assert_eq!(
        verify(&public, &good, ts.saturating_add(TOLERANCE_SECS + 1)),
        Err(SignatureError::Stale)
    );
    let other_ts = (ts + 1).to_string();
    let moved = SignedRequest {
        timestamp: Some(&other_ts),
        ..good
    };
    assert_eq!(verify(&public, &moved, ts), Err(SignatureError::Mismatch));

    let _ = MessageEvent::parse(raw.body);
    if let Ok(form) = Form::parse(raw.body) {
        let plausible = |sid: &str| sid.len() <= 128 && sid.bytes().all(|b| b.is_ascii_graphic());
        if let Ok(v) = Voice::from_form(&form) {
            assert!(plausible(&v.call_sid));
            let _ = v.attestation_words();
        }
        if let Ok(g) = Gather::from_form(&form) {
            assert!(plausible(&g.call_sid));
        }
        if let Ok(s) = Status::from_form(&form) {
            assert!(plausible(&s.call_sid) && !s.call_status.is_empty());
        }
    }
}
