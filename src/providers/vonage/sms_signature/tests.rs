use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use serde_json::Value;
use sha2::Sha256;

use super::*;
use crate::providers::vonage::webhook::receipt_params;

/// Judged by Vonage's SDK (tests/vectors/gen_vonage_sms.py).
const SDK_VECTORS: &str = include_str!("../../../../tests/vectors/vonage_sms_sdk.json");

#[test]
fn every_sdk_vector_gives_its_verdict() {
    let vectors: Vec<Value> = serde_json::from_str(SDK_VECTORS).unwrap();
    assert!(vectors.len() >= 12);
    for v in &vectors {
        let id = v["id"].as_str().unwrap();
        let secret = v["secret"].as_str().unwrap().as_bytes();
        let text = v["text"].as_str().unwrap().as_bytes();
        let params = receipt_params(text, v["json"].as_bool().unwrap()).unwrap();
        let got = verify(secret, &params, v["now"].as_i64().unwrap());
        assert_eq!(got.is_ok(), v["expected_valid"], "{id}: {got:?}");
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `sig` made without this module: sorted `&k=v`, `&`/`=` in values as `_`.
fn sign(secret: &[u8], params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let text: String = sorted
        .iter()
        .map(|(k, v)| format!("&{k}={}", v.replace(['&', '='], "_")))
        .collect();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn refusals_name_their_reason() {
    let base = pairs(&[
        ("messageId", "X1"),
        ("status", "delivered"),
        ("timestamp", "100"),
    ]);
    let mut good = base.clone();
    good.push(("sig".into(), sign(b"k", &base)));
    assert_eq!(verify(b"k", &good, 100), Ok(good[3].1.clone()));
    assert_eq!(verify(b"k", &base, 100), Err(SmsSignatureError::MissingSig));
    assert_eq!(verify(b"k", &good, 401), Err(SmsSignatureError::Stale));
    assert_eq!(
        verify(b"other", &good, 100),
        Err(SmsSignatureError::Mismatch)
    );
    let mut no_ts = pairs(&[("messageId", "X1")]);
    no_ts.push(("sig".into(), sign(b"k", &no_ts)));
    assert_eq!(
        verify(b"k", &no_ts, 100),
        Err(SmsSignatureError::BadTimestamp)
    );
    let mut twice = good.clone();
    twice.push(("status".into(), "failed".into()));
    assert_eq!(verify(b"k", &twice, 100), Err(SmsSignatureError::Repeated));
    let mut not_hex = base.clone();
    not_hex.push(("sig".into(), "zz".into()));
    assert_eq!(
        verify(b"k", &not_hex, 100),
        Err(SmsSignatureError::Mismatch)
    );
}

proptest! {
    /// Receipts signed independently verify exactly when fresh; a changed
    /// value or another secret never does.
    #[test]
    fn independent_sigs_verify_exactly_when_fresh(
        secret in proptest::collection::vec(any::<u8>(), 1..64),
        values in proptest::collection::vec("[ -~]{0,20}", 1..6),
        ts in 1_000_000i64..4_000_000_000,
        skew in -700i64..700,
    ) {
        let mut params: Vec<(String, String)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("field-{i}"), v.clone()))
            .collect();
        params.push(("timestamp".into(), ts.to_string()));
        let sig = sign(&secret, &params);
        let mut signed = params.clone();
        signed.push(("sig".into(), sig));
        prop_assert_eq!(verify(&secret, &signed, ts + skew).is_ok(), skew.abs() <= TOLERANCE_SECS);
        let mut changed = signed.clone();
        changed[0].1.push('x');
        prop_assert_eq!(verify(&secret, &changed, ts), Err(SmsSignatureError::Mismatch));
        let mut other = secret.clone();
        other[0] ^= 0xff;
        prop_assert_eq!(verify(&other, &signed, ts), Err(SmsSignatureError::Mismatch));
    }
}

#[test]
fn a_timestamp_is_one_to_twelve_plain_digits_even_when_signed() {
    let s = b"secret";
    let signed_at = |timestamp: &str| {
        let mut params = pairs(&[("messageId", "m-1"), ("timestamp", timestamp)]);
        let sig = sign(s, &params);
        params.push(("sig".into(), sig));
        verify(s, &params, 1_700_000_000)
    };
    assert!(signed_at("1700000000").is_ok());
    // i64 parsing would take a sign or leading zeros; the receipt may not.
    for bad in ["+1700000000", "0001700000000", ""] {
        assert_eq!(
            signed_at(bad),
            Err(SmsSignatureError::BadTimestamp),
            "{bad:?}"
        );
    }
}
