//! Twilio webhook signatures (`X-Twilio-Signature`): HMAC over the public URL
//! plus the sorted form parameters, or over the URL alone with a
//! `bodySHA256` query parameter for JSON bodies. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use super::form::decode_pairs;

/// The signature header's longest legitimate value is 44 characters (a
/// base64 SHA-256 MAC); anything much longer is refused before decoding.
const MAX_SIGNATURE_LEN: usize = 128;
/// Bounds the work spent on a hostile settings header.
const MAX_SETTINGS_LEN: usize = 512;
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
const BODY_HASH_PARAM: &str = "bodySHA256";

/// Why a request's signature was not accepted. The messages are safe to log
/// and to return: they never contain a key, a signature or request data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request carries no signature")]
    Missing,
    #[error("the signature or its settings header is malformed")]
    Malformed,
    #[error("the signature does not match the request")]
    Mismatch,
    #[error("the request body is not form-encoded and the URL carries no body hash")]
    BodyHashMissing,
    #[error("the request body does not match the body hash in the URL")]
    BodyHashMismatch,
    #[error("no signing key is configured for this request")]
    UnknownKey,
}

/// An incoming webhook, as raw as the HTTP layer can hand it over.
#[derive(Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The public URL exactly as Twilio requested it: the configured
    /// `public_base_url` + path + `?` + raw query (if any). Never rebuilt
    /// from `Host` or `X-Forwarded-*`, which the sender controls.
    pub url: &'a str,
    pub content_type: Option<&'a str>,
    /// The raw body, before any parsing.
    pub body: &'a [u8],
    /// `X-Twilio-Signature`.
    pub signature: Option<&'a str>,
    /// `X-Twilio-Webhooks-Signature-Settings`.
    pub signature_settings: Option<&'a str>,
}

/// The secrets a request may be signed with, all from configuration.
///
/// The settings header only *names* a key (`key=<id>`); the secret is looked
/// up here. Taking the key from the request would let anyone sign their own
/// requests.
#[derive(Clone, Copy)]
pub struct SigningKeys<'a> {
    /// The account auth token: HMAC-SHA1, used when no settings header is
    /// present.
    pub auth_token: &'a [u8],
    /// Shared keys for HMAC-SHA256, as (key id, secret).
    pub sha256_keys: &'a [(&'a str, &'a [u8])],
}

// The body carries caller numbers and keyed digits: a debug print shows
// only its size.
impl fmt::Debug for SignedRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequest")
            .field("url", &self.url)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .field("signature", &self.signature)
            .field("signature_settings", &self.signature_settings)
            .finish()
    }
}

// Secrets never reach a log line: only the key ids are shown.
impl fmt::Debug for SigningKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.sha256_keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("SigningKeys")
            .field("auth_token", &"***")
            .field("sha256_key_ids", &ids)
            .finish()
    }
}

/// The MAC a signature uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// The default: keyed with the account auth token.
    HmacSha1,
    /// Announced by `X-Twilio-Webhooks-Signature-Settings`, keyed with a
    /// shared key.
    HmacSha256,
}

/// Checks a webhook's signature. Returns `Ok(())` only if some accepted form
/// of the URL, with the body's parameters (form bodies) or the body hash
/// (other bodies), was signed with the configured key.
pub fn verify(req: &SignedRequest<'_>, keys: &SigningKeys<'_>) -> Result<(), SignatureError> {
    let signature = match req.signature {
        None | Some("") => return Err(SignatureError::Missing),
        Some(s) if s.len() > MAX_SIGNATURE_LEN => return Err(SignatureError::Malformed),
        Some(s) => BASE64
            .decode(s.trim())
            .map_err(|_| SignatureError::Malformed)?,
    };

    let (algorithm, key) = match req.signature_settings {
        None => (Algorithm::HmacSha1, keys.auth_token),
        Some(settings) => {
            let key_id = parse_settings(settings)?;
            let secret = keys
                .sha256_keys
                .iter()
                .find(|(id, _)| *id == key_id)
                .map(|(_, secret)| *secret)
                .ok_or(SignatureError::UnknownKey)?;
            (Algorithm::HmacSha256, secret)
        }
    };
    // An empty key is a configuration mistake; with it anyone could sign.
    if key.is_empty() {
        return Err(SignatureError::UnknownKey);
    }

    let body = classify_body(req)?;
    let params = match &body {
        Body::Form(pairs) => pairs.as_slice(),
        Body::Hashed { .. } => &[],
    };

    // Every candidate is computed and compared, so the time taken does not
    // tell which URL form (if any) matched.
    let mut matched = Choice::from(0);
    for candidate in url_candidates(req.url) {
        let Some(expected) = mac(algorithm, key, &candidate, params) else {
            return Err(SignatureError::UnknownKey);
        };
        matched |= expected.as_slice().ct_eq(&signature);
    }
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }

    // The URL (and so the claimed hash) is authentic from here on; what is
    // left is whether the body is the one Twilio hashed.
    if let Body::Hashed { claimed } = body {
        let actual = body_sha256_hex(req.body);
        if !bool::from(claimed.as_bytes().ct_eq(actual.as_bytes())) {
            return Err(SignatureError::BodyHashMismatch);
        }
    }
    Ok(())
}

/// The base64 HMAC-SHA1 signature Twilio would send for a form POST of
/// `params` to `url`, keyed with the auth token. For tests and the demo.
pub fn sign(url: &str, params: &[(String, String)], auth_token: &[u8]) -> String {
    sign_with(Algorithm::HmacSha1, url, params, auth_token)
}

/// As [`sign`], with the algorithm chosen (HMAC-SHA256 for shared keys).
pub fn sign_with(
    algorithm: Algorithm,
    url: &str,
    params: &[(String, String)],
    key: &[u8],
) -> String {
    // HMAC accepts keys of any length, so `mac` never returns None; an
    // empty string would simply never verify.
    mac(algorithm, key, url, params)
        .map(|out| BASE64.encode(out))
        .unwrap_or_default()
}

/// Lowercase hex SHA-256 of a raw body: the `bodySHA256` query value Twilio
/// adds for JSON bodies.
pub fn body_sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// What the signature covers besides the URL.
enum Body<'a> {
    /// Form-encoded (or empty, unlabelled): its decoded parameters.
    Form(Vec<(String, String)>),
    /// Anything else: nothing, but the URL's `bodySHA256` must match.
    Hashed { claimed: &'a str },
}

fn classify_body<'a>(req: &SignedRequest<'a>) -> Result<Body<'a>, SignatureError> {
    let is_form = req.content_type.is_some_and(|ct| {
        let media_type = ct.split(';').next().unwrap_or_default().trim();
        media_type.eq_ignore_ascii_case(FORM_CONTENT_TYPE)
    });
    if is_form {
        let pairs = decode_pairs(req.body).map_err(|_| SignatureError::Malformed)?;
        return Ok(Body::Form(pairs));
    }
    // A GET webhook (or a bodiless POST) has no body and no content type:
    // Twilio put its parameters in the query, and the URL is all it signed.
    if req.content_type.is_none() && req.body.is_empty() {
        return Ok(Body::Form(Vec::new()));
    }
    match body_hash_param(req.url)? {
        Some(claimed) => Ok(Body::Hashed { claimed }),
        None => Err(SignatureError::BodyHashMissing),
    }
}

/// The raw value of the URL's single `bodySHA256` query parameter. Two of
/// them would leave it unclear which one the body must match.
fn body_hash_param(url: &str) -> Result<Option<&str>, SignatureError> {
    let Some((_, query)) = url.split_once('?') else {
        return Ok(None);
    };
    let query = query.split('#').next().unwrap_or_default();
    let mut found = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == BODY_HASH_PARAM {
            if found.is_some() {
                return Err(SignatureError::Malformed);
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// Reads `key=<id>,algorithm=HMAC_SHA256` and returns the key id.
fn parse_settings(settings: &str) -> Result<&str, SignatureError> {
    if settings.len() > MAX_SETTINGS_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut key_id = None;
    let mut algorithm = None;
    for item in settings.split(',') {
        let (name, value) = item.split_once('=').ok_or(SignatureError::Malformed)?;
        let slot = match name.trim() {
            n if n.eq_ignore_ascii_case("key") => &mut key_id,
            n if n.eq_ignore_ascii_case("algorithm") => &mut algorithm,
            // Unknown attributes may be added by Twilio later; they do not
            // change what is signed or with which key.
            _ => continue,
        };
        if slot.replace(value.trim()).is_some() {
            return Err(SignatureError::Malformed);
        }
    }
    match (key_id, algorithm) {
        (Some(id), Some(alg)) if !id.is_empty() && alg.eq_ignore_ascii_case("HMAC_SHA256") => {
            Ok(id)
        }
        _ => Err(SignatureError::Malformed),
    }
}

/// The URL forms Twilio may have signed: as given, without its port, and
/// with the scheme's default port added. Twilio is inconsistent about
/// explicit default ports; everything else (case, userinfo, path, escapes)
/// is hashed exactly as given.
fn url_candidates(url: &str) -> Vec<String> {
    let mut candidates = vec![url.to_owned()];
    let Some(parts) = split_authority(url) else {
        return candidates;
    };
    match parts.port {
        Some(port) => {
            // Drop ":port" (the colon sits just before it).
            let without = format!(
                "{}{}",
                &url[..parts.port_start - 1],
                &url[parts.port_start + port.len()..]
            );
            candidates.push(without);
        }
        None => {
            let default = if parts.scheme.eq_ignore_ascii_case("https") {
                Some("443")
            } else if parts.scheme.eq_ignore_ascii_case("http") {
                Some("80")
            } else {
                None
            };
            if let Some(default) = default {
                candidates.push(format!(
                    "{}:{default}{}",
                    &url[..parts.authority_end],
                    &url[parts.authority_end..]
                ));
            }
        }
    }
    candidates
}

struct Authority<'a> {
    scheme: &'a str,
    /// Byte offset just past the authority (host and port).
    authority_end: usize,
    /// The port digits, if the authority ends in `:digits`.
    port: Option<&'a str>,
    /// Byte offset of the port digits (meaningful only with `port`).
    port_start: usize,
}

/// Locates scheme, host and port in `scheme://[userinfo@]host[:port]/...`
/// without normalising anything. `None` for a URL of another shape (no
/// scheme, empty host, empty or non-numeric port), which is then only ever
/// hashed exactly as given.
fn split_authority(url: &str) -> Option<Authority<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok {
        return None;
    }
    let authority_start = scheme.len() + 3;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    // The password in userinfo may itself contain ':'; the host starts after
    // the last '@'.
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let host_port = &authority[host_start..];
    // An IPv6 literal's colons are inside brackets; a port follows "]:".
    let after_brackets = host_port.rfind(']').map_or(0, |b| b + 1);
    let (host_len, port) = match host_port[after_brackets..].rfind(':') {
        None => (host_port.len(), None),
        Some(colon) => {
            let colon = after_brackets + colon;
            let digits = &host_port[colon + 1..];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (colon, Some(digits))
        }
    };
    if host_len == 0 {
        return None;
    }
    Some(Authority {
        scheme,
        authority_end: authority_start + authority_len,
        port,
        port_start: authority_start + host_start + host_len + 1,
    })
}

/// HMAC over `url` then each key's de-duplicated, sorted values appended as
/// `key + value`, keys in bytewise order (Rust's `str` order is bytewise).
/// Sorting by key first matters: sorting the concatenated strings (as
/// twilio-go once did) orders `SidAccount…` before `SidCA…`.
fn mac(
    algorithm: Algorithm,
    key: &[u8],
    url: &str,
    params: &[(String, String)],
) -> Option<Vec<u8>> {
    let mut grouped: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in params {
        grouped.entry(name).or_default().insert(value);
    }
    match algorithm {
        Algorithm::HmacSha1 => mac_with::<Hmac<Sha1>>(key, url, &grouped),
        Algorithm::HmacSha256 => mac_with::<Hmac<Sha256>>(key, url, &grouped),
    }
}

fn mac_with<M: Mac + KeyInit>(
    key: &[u8],
    url: &str,
    grouped: &BTreeMap<&str, BTreeSet<&str>>,
) -> Option<Vec<u8>> {
    let mut mac = <M as KeyInit>::new_from_slice(key).ok()?;
    mac.update(url.as_bytes());
    for (name, values) in grouped {
        for value in values {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
    }
    Some(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests;
