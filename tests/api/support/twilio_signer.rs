//! Twilio's webhook signature (`X-Twilio-Signature`), written from Twilio's
//! documentation and independent of pingate's validator in `src/`, so a
//! shared misunderstanding cannot make both sides agree on a wrong answer.
//!
//! Form-encoded webhooks: HMAC-SHA1, keyed with the auth token, over the
//! full URL followed by every parameter as name + value, names sorted
//! bytewise and a repeated name's values de-duplicated and sorted; the
//! signature is the base64 of the MAC. JSON webhooks: the URL carries
//! `bodySHA256=<hex SHA-256 of the body>` and the MAC covers the URL alone.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

fn hmac_sha1_base64(auth_token: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    BASE64.encode(mac.finalize().into_bytes())
}

/// The signature of a form-encoded (`application/x-www-form-urlencoded`)
/// request to `url` carrying `params` (decoded names and values).
pub fn sign_form(url: &str, params: &[(&str, &str)], auth_token: &str) -> String {
    // `str`'s ordering is bytewise, which is the order Twilio specifies.
    let mut by_name: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in params {
        by_name.entry(name).or_default().insert(value);
    }
    let mut parts: Vec<&[u8]> = vec![url.as_bytes()];
    for (name, values) in &by_name {
        for value in values {
            parts.push(name.as_bytes());
            parts.push(value.as_bytes());
        }
    }
    hmac_sha1_base64(auth_token, &parts)
}

/// The signature of a request with a JSON body, given the URL that already
/// carries its `bodySHA256` query parameter (see [`with_body_sha256`]).
pub fn sign_json(url_with_body_sha: &str, auth_token: &str) -> String {
    hmac_sha1_base64(auth_token, &[url_with_body_sha.as_bytes()])
}

/// Lowercase hex SHA-256 of a raw request body, the `bodySHA256` value.
pub fn body_sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// `url` with `bodySHA256` for `body` appended to its query string.
pub fn with_body_sha256(url: &str, body: &[u8]) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}bodySHA256={}", body_sha256_hex(body))
}

/// The urlencoded request body for `params`, in the given order.
pub fn form_body(params: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(params).expect("string pairs always urlencode")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Twilio's own known-answer vectors, copied into tests/fixtures.
    const VECTORS: &str = include_str!("../../fixtures/twilio.json");

    fn vector(id: &str) -> Value {
        let all: Vec<Value> = serde_json::from_str(VECTORS).expect("twilio.json parses");
        all.into_iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("vector {id} not found"))
    }

    /// The vector's params as pairs; an array value becomes one pair per
    /// element, as a repeated form field would arrive.
    fn pairs(v: &Value) -> Vec<(String, String)> {
        let params = v["params"].as_object().expect("params object");
        let mut pairs = Vec::new();
        for (name, value) in params {
            match value {
                Value::Array(values) => {
                    for value in values {
                        let value = value.as_str().expect("string value");
                        pairs.push((name.clone(), value.to_owned()));
                    }
                }
                value => pairs.push((name.clone(), value.as_str().expect("string").to_owned())),
            }
        }
        pairs
    }

    fn check_form_vector(id: &str) {
        let v = vector(id);
        let owned = pairs(&v);
        let params: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let url = v["signed_url"].as_str().expect("signed_url");
        let secret = v["secret"].as_str().expect("secret");
        assert_eq!(
            sign_form(url, &params, secret),
            v["expected_signature"],
            "vector {id}"
        );
    }

    #[test]
    fn form_signature_matches_twilio_basic_vector() {
        check_form_vector("tw-basic");
    }

    #[test]
    fn repeated_values_are_deduplicated_and_sorted_as_in_twilio_vector() {
        check_form_vector("tw-multivalue-dedup-sorted");
    }

    #[test]
    fn parameter_order_does_not_change_the_signature() {
        let v = vector("tw-basic");
        let mut owned = pairs(&v);
        owned.reverse();
        let params: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let url = v["signed_url"].as_str().expect("signed_url");
        assert_eq!(sign_form(url, &params, "12345"), v["expected_signature"]);
    }

    #[test]
    fn json_signature_matches_twilio_body_sha_vector() {
        let v = vector("tw-json-body");
        let body = v["body"].as_str().expect("body").as_bytes();
        let url = v["signed_url"].as_str().expect("signed_url");
        let (base, _) = url
            .split_once("&bodySHA256=")
            .expect("url carries bodySHA256");
        assert_eq!(with_body_sha256(base, body), url);
        assert_eq!(sign_json(url, "12345"), v["expected_signature"]);
    }

    #[test]
    fn form_body_urlencodes_in_order() {
        let body = form_body(&[("To", "+14155550100"), ("Body", "PIN 1234 & más")]);
        assert_eq!(body, "To=%2B14155550100&Body=PIN+1234+%26+m%C3%A1s");
    }
}
