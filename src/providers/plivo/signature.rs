//! `X-Plivo-Signature-V3`, as the SDK's `plivo.utils.signature_v3` computes
//! it: base64 of HMAC-SHA256, keyed by the auth token, over the URL
//! rebuilt with its sorted query, the sorted POST parameters (`key` +
//! `value`, no separators), `.` and `X-Plivo-Signature-V3-Nonce`. The
//! header may carry several signatures separated by commas; one equal to
//! ours is enough. Pure: no clock, no store (replays are the caller's).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::providers::form::decode_pairs;

pub const SIGNATURE_HEADER: &str = "x-plivo-signature-v3";
pub const NONCE_HEADER: &str = "x-plivo-signature-v3-nonce";
/// The longest nonce kept for replay detection (Plivo's are 20 digits).
pub const MAX_NONCE_LEN: usize = 128;

/// Why a request is not Plivo's. Never echoes a header or a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Plivo-Signature-V3 is missing")]
    MissingSignature,
    #[error("X-Plivo-Signature-V3-Nonce is missing")]
    MissingNonce,
    #[error("X-Plivo-Signature-V3-Nonce is not 1 to 128 printable characters")]
    BadNonce,
    #[error("the signed URL or body cannot be decoded")]
    Malformed,
    #[error("X-Plivo-Signature-V3 does not match the request")]
    Mismatch,
}

/// The callback's method: Plivo signs a GET's parameters as query, a
/// POST's as body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// What the signature covers, as received. `url` is the full URL Plivo
/// called (query included); `params` are the decoded POST parameters
/// (for GET: the callback parameters, merged with the URL's query).
#[derive(Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: Method,
    pub url: &'a str,
    pub params: &'a [(String, String)],
    pub signature: Option<&'a str>,
    pub nonce: Option<&'a str>,
}

/// Each key's values, sorted, repeats kept (the SDK sorts a list).
type Grouped = BTreeMap<String, Vec<String>>;

fn group(pairs: impl IntoIterator<Item = (String, String)>) -> Grouped {
    let mut out = Grouped::new();
    for (k, v) in pairs {
        out.entry(k).or_default().push(v);
    }
    for values in out.values_mut() {
        values.sort();
    }
    out
}

/// `scheme://host/path` and the query, as Python's `urlparse` splits them:
/// the fragment and the last segment's `;params` are not signed.
fn split_url(url: &str) -> (&str, &str) {
    let url = url.split('#').next().unwrap_or_default();
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let last_slash = base.rfind('/').map_or(0, |i| i + 1);
    let base = match base[last_slash..].find(';') {
        Some(at) => &base[..last_slash + at],
        None => base,
    };
    (base, query)
}

/// `k=v&k=v2` over the sorted keys and, per key, the sorted values.
fn sorted_query(params: &Grouped) -> String {
    let mut parts = Vec::new();
    for (k, values) in params {
        for v in values {
            parts.push(format!("{k}={v}"));
        }
    }
    parts.join("&")
}

/// The exact text Plivo signs, without the trailing `.nonce`.
pub fn signed_url(
    method: Method,
    url: &str,
    params: &[(String, String)],
) -> Result<String, SignatureError> {
    let (base, query) = split_url(url);
    let query = decode_pairs(query.as_bytes()).map_err(|_| SignatureError::Malformed)?;
    let mut out = base.to_string();
    match method {
        Method::Get => {
            // The URL's query wins over a callback parameter of the same name.
            let mut merged = group(params.iter().cloned());
            merged.extend(group(query));
            let q = sorted_query(&merged);
            if !q.is_empty() {
                out.push('?');
                out.push_str(&q);
            }
        }
        Method::Post => {
            let q = sorted_query(&group(query));
            if !q.is_empty() || !params.is_empty() {
                out.push('?');
                out.push_str(&q);
            }
            if !q.is_empty() && !params.is_empty() {
                out.push('.');
            }
            for (k, values) in group(params.iter().cloned()) {
                for v in values {
                    out.push_str(&k);
                    out.push_str(&v);
                }
            }
        }
    }
    Ok(out)
}

/// The base64 signature of `signed_url` + `.` + `nonce` under `auth_token`.
pub fn sign(auth_token: &[u8], signed_url: &str, nonce: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(auth_token)
        .expect("HMAC takes a key of any length");
    mac.update(signed_url.as_bytes());
    mac.update(b".");
    mac.update(nonce.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The decoded pairs of a POST body, for `SignedRequest::params`.
pub fn body_params(body: &[u8]) -> Result<Vec<(String, String)>, SignatureError> {
    decode_pairs(body).map_err(|_| SignatureError::Malformed)
}

/// Checks the request against the auth token. An empty token never
/// verifies (anyone could sign with it).
pub fn verify(auth_token: &[u8], req: &SignedRequest<'_>) -> Result<(), SignatureError> {
    let header = req
        .signature
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::MissingSignature)?;
    let nonce = req
        .nonce
        .filter(|n| !n.is_empty())
        .ok_or(SignatureError::MissingNonce)?;
    if nonce.len() > MAX_NONCE_LEN || !nonce.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SignatureError::BadNonce);
    }
    let expected = sign(
        auth_token,
        &signed_url(req.method, req.url, req.params)?,
        nonce,
    );
    // Like the SDK: any one of the comma-separated values, compared whole.
    let mut matched = subtle::Choice::from(0);
    for candidate in header.split(',') {
        matched |= candidate.as_bytes().ct_eq(expected.as_bytes());
    }
    if bool::from(matched) && !auth_token.is_empty() {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests;
