use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use serde_json::Value;
use sha2::Sha256;

use super::*;

/// Verbatim from Plivo's SDK test suites (the shared vector set).
const SDK_VECTORS: &str = include_str!("../../../../tests/vectors/plivo.json");
/// Judged by `plivo.utils.signature_v3` (tests/vectors/gen_plivo.py).
const GENERATED_VECTORS: &str = include_str!("../../../../tests/vectors/plivo_sdk.json");

fn pairs(v: &Value) -> Vec<(String, String)> {
    let Some(params) = v["params"].as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, value) in params {
        match value {
            Value::Array(values) => {
                for x in values {
                    out.push((k.clone(), x.as_str().unwrap().to_string()));
                }
            }
            other => out.push((k.clone(), other.as_str().unwrap().to_string())),
        }
    }
    out
}

fn method_of(v: &Value) -> Method {
    match v["method"].as_str() {
        Some("GET") => Method::Get,
        _ => Method::Post,
    }
}

/// The vector's verdict under our `verify`, and the one it expects.
fn verdict(v: &Value) -> (String, bool, bool) {
    let id = v["id"].as_str().unwrap_or("?").to_string();
    let method = method_of(v);
    let params = pairs(v);
    let header = |name: &str| v["headers"][name].as_str();
    let req = SignedRequest {
        method,
        url: v["url"].as_str().unwrap(),
        params: &params,
        signature: header("X-Plivo-Signature-V3"),
        nonce: header("X-Plivo-Signature-V3-Nonce"),
    };
    let got = verify(v["secret"].as_str().unwrap().as_bytes(), &req).is_ok();
    (id, v["expected_valid"].as_bool().unwrap(), got)
}

#[test]
fn every_v3_sdk_vector_gives_its_verdict_and_signed_string() {
    let vectors: Vec<Value> = serde_json::from_str(SDK_VECTORS).unwrap();
    let v3: Vec<_> = vectors.iter().filter(|v| v["scheme"] == "V3").collect();
    assert!(v3.len() >= 7, "{}", v3.len());
    for v in v3 {
        let (id, expected, got) = verdict(v);
        assert_eq!(got, expected, "{id}");
        if let Some(text) = v["string_to_sign"].as_str() {
            let url = signed_url(method_of(v), v["url"].as_str().unwrap(), &pairs(v)).unwrap();
            let nonce = v["headers"]["X-Plivo-Signature-V3-Nonce"].as_str().unwrap();
            assert_eq!(format!("{url}.{nonce}"), text, "{id}");
        }
    }
}

#[test]
fn every_generated_vector_gives_the_sdks_verdict() {
    let vectors: Vec<Value> = serde_json::from_str(GENERATED_VECTORS).unwrap();
    assert!(vectors.len() >= 20, "{}", vectors.len());
    for v in &vectors {
        let (id, expected, got) = verdict(v);
        assert_eq!(got, expected, "{id}");
        if expected {
            let url = signed_url(method_of(v), v["url"].as_str().unwrap(), &pairs(v)).unwrap();
            let nonce = v["headers"]["X-Plivo-Signature-V3-Nonce"].as_str().unwrap();
            assert_eq!(format!("{url}.{nonce}"), v["string_to_sign"], "{id}");
        }
    }
}

fn post(sig: Option<&'static str>, nonce: Option<&'static str>) -> SignedRequest<'static> {
    SignedRequest {
        method: Method::Post,
        url: "https://pg.example/webhooks/plivo/answer",
        params: &[],
        signature: sig,
        nonce,
    }
}

#[test]
fn refusals_name_their_reason() {
    let good: &'static str =
        Box::leak(sign(b"token", "https://pg.example/webhooks/plivo/answer", "1").into_boxed_str());
    assert_eq!(verify(b"token", &post(Some(good), Some("1"))), Ok(()));
    assert_eq!(
        verify(b"token", &post(None, Some("1"))),
        Err(SignatureError::MissingSignature)
    );
    assert_eq!(
        verify(b"token", &post(Some(good), Some(""))),
        Err(SignatureError::MissingNonce)
    );
    assert_eq!(
        verify(b"token", &post(Some(good), Some("a b"))),
        Err(SignatureError::BadNonce)
    );
    assert_eq!(
        verify(b"other", &post(Some(good), Some("1"))),
        Err(SignatureError::Mismatch)
    );
    let bad_query = SignedRequest {
        url: "https://pg.example/x?a=%FF",
        ..post(Some(good), Some("1"))
    };
    assert_eq!(verify(b"token", &bad_query), Err(SignatureError::Malformed));
}

#[test]
fn an_empty_token_never_verifies() {
    let sig: &'static str =
        Box::leak(sign(b"", "https://pg.example/webhooks/plivo/answer", "1").into_boxed_str());
    assert_eq!(
        verify(b"", &post(Some(sig), Some("1"))),
        Err(SignatureError::Mismatch)
    );
}

/// Plivo's algorithm written out again from its documentation, by hand,
/// for a POST whose URL has no query: `url?` + sorted `keyvalue` + `.` +
/// nonce. Shares nothing with `signed_url` or `sign`.
fn independent_post_signature(
    token: &[u8],
    url: &str,
    params: &[(String, String)],
    nonce: &str,
) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut text = url.to_string();
    if !sorted.is_empty() {
        text.push('?');
    }
    for (k, v) in &sorted {
        text.push_str(k);
        text.push_str(v);
    }
    text.push('.');
    text.push_str(nonce);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token).unwrap();
    mac.update(text.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

fn params_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map("[A-Za-z][A-Za-z0-9-]{0,12}", "\\PC{0,20}", 0..8)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    /// A request signed independently is accepted, among decoys too, and
    /// no change to a parameter, the nonce or the token is.
    #[test]
    fn independent_signatures_verify_and_changes_do_not(
        token in "[A-Za-z0-9]{1,40}",
        path in "/[a-z]{1,10}(/[a-z]{1,10}){0,2}",
        params in params_strategy(),
        nonce in "[0-9]{1,30}",
        decoys in 0usize..3,
    ) {
        let url = format!("https://pg.example{path}");
        let sig = independent_post_signature(token.as_bytes(), &url, &params, &nonce);
        let mut header = vec!["AAAA".to_string(); decoys];
        header.push(sig.clone());
        let header = header.join(",");
        let req = SignedRequest {
            method: Method::Post, url: &url, params: &params,
            signature: Some(&header), nonce: Some(&nonce),
        };
        prop_assert_eq!(verify(token.as_bytes(), &req), Ok(()));
        let other_token = format!("{token}x");
        prop_assert_eq!(verify(other_token.as_bytes(), &req), Err(SignatureError::Mismatch));
        let other_nonce = format!("{nonce}1");
        let moved = SignedRequest { nonce: Some(&other_nonce), ..req };
        prop_assert_eq!(verify(token.as_bytes(), &moved), Err(SignatureError::Mismatch));
        if let Some((k, v)) = params.first() {
            let mut changed = params.clone();
            changed[0] = (k.clone(), format!("{v}!"));
            let tampered = SignedRequest { params: &changed, ..req };
            prop_assert_eq!(verify(token.as_bytes(), &tampered), Err(SignatureError::Mismatch));
        }
    }

    #[test]
    fn verify_never_panics(
        url in ".{0,80}",
        params in proptest::collection::vec((".{0,8}", ".{0,8}"), 0..5),
        sig in proptest::option::of(".{0,100}"),
        nonce in proptest::option::of(".{0,40}"),
        get in any::<bool>(),
    ) {
        let req = SignedRequest {
            method: if get { Method::Get } else { Method::Post },
            url: &url, params: &params, signature: sig.as_deref(), nonce: nonce.as_deref(),
        };
        let _ = verify(b"token", &req);
    }
}

#[test]
fn a_post_body_is_decoded_into_its_pairs_in_order() {
    let pairs = body_params(b"Digits=4001%23&CallerName=Zo%C3%AB+Li&Empty=").unwrap();
    let expected = [("Digits", "4001#"), ("CallerName", "Zoë Li"), ("Empty", "")];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    assert_eq!(pairs, expected);
    assert_eq!(body_params(b"").unwrap(), Vec::new());
    assert_eq!(body_params(b"a=%FF"), Err(SignatureError::Malformed));
}

#[test]
fn a_nonce_is_read_up_to_128_characters() {
    let url = "https://pg.example/webhooks/plivo/answer";
    let check = |nonce: &str| {
        let sig = sign(b"token", url, nonce);
        let req = SignedRequest {
            method: Method::Post,
            url,
            params: &[],
            signature: Some(&sig),
            nonce: Some(nonce),
        };
        verify(b"token", &req)
    };
    let longest = "7".repeat(MAX_NONCE_LEN);
    assert_eq!(check(&longest), Ok(()));
    assert_eq!(check(&format!("{longest}7")), Err(SignatureError::BadNonce));
}
