//! Vonage's signed webhooks: `Authorization: Bearer <JWT>`, HS256 with the
//! account's signature secret. pingate accepts a token when its HMAC holds
//! (compared in constant time), its `payload_hash` is the hex SHA-256 of
//! the raw body (of nothing, for a GET), its `iat` is within 300 s of now
//! either way (Vonage's tokens carry no `exp`), and it names a `jti` (the
//! caller refuses one seen before). Pure: the time is an argument.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How far `iat` may be from now, in seconds.
pub const TOLERANCE_SECS: i64 = 300;
/// Longest token read; Vonage's are about 400 characters.
const MAX_TOKEN_LEN: usize = 4096;

/// Why a request is not Vonage's. Never echoes the token or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("Authorization: Bearer <JWT> is missing")]
    MissingToken,
    #[error("the bearer token is not a JWT")]
    Malformed,
    #[error("the JWT's alg is not HS256")]
    Algorithm,
    #[error("the JWT's signature does not match vonage.signature_secret")]
    Mismatch,
    #[error("the JWT has no payload_hash")]
    MissingPayloadHash,
    #[error("the JWT's payload_hash is not the SHA-256 of the body")]
    BodyMismatch,
    #[error("the JWT has no numeric iat")]
    MissingIat,
    #[error("the JWT's iat is more than 300 s from now")]
    Stale,
    #[error("the JWT has no jti")]
    MissingJti,
}

/// The claims pingate relies on, once the signature held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub iat: i64,
    /// The token's id: a second delivery of it is a replay.
    pub jti: String,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct RawClaims {
    iat: Option<serde_json::Number>,
    jti: Option<serde_json::Value>,
    payload_hash: Option<serde_json::Value>,
}

/// The token of an `Authorization` header value (`Bearer <token>`).
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Hex SHA-256 of `body`: what `payload_hash` must say.
pub fn payload_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Checks the JWT's HS256 signature only, as Vonage's SDKs'
/// `verify_signature` do; returns the decoded claims' JSON.
pub fn verify_signature(secret: &[u8], token: &str) -> Result<serde_json::Value, SignatureError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SignatureError::Malformed);
    };
    let header: Header = decode_json(header)?;
    if header.alg != "HS256" {
        return Err(SignatureError::Algorithm);
    }
    let sig = BASE64URL
        .decode(sig.trim_end_matches('='))
        .map_err(|_| SignatureError::Malformed)?;
    let signed_len = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(&token.as_bytes()[..signed_len]);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&sig)
        .map_err(|_| SignatureError::Mismatch)?;
    decode_json(claims)
}

/// The whole check at `now_secs`: signature, body hash, freshness, token id.
pub fn verify(
    secret: &[u8],
    authorization: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<Claims, SignatureError> {
    let token = bearer(authorization).ok_or(SignatureError::MissingToken)?;
    let claims: RawClaims = serde_json::from_value(verify_signature(secret, token)?)
        .map_err(|_| SignatureError::Malformed)?;
    let hash = match claims.payload_hash {
        Some(serde_json::Value::String(h)) => h,
        _ => return Err(SignatureError::MissingPayloadHash),
    };
    if !hash.eq_ignore_ascii_case(&payload_hash(body)) {
        return Err(SignatureError::BodyMismatch);
    }
    let iat = claims
        .iat
        .and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)))
        .ok_or(SignatureError::MissingIat)?;
    if now_secs.abs_diff(iat) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let jti = match claims.jti {
        Some(serde_json::Value::String(j)) if !j.is_empty() && j.len() <= 128 => j,
        _ => return Err(SignatureError::MissingJti),
    };
    Ok(Claims { iat, jti })
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, SignatureError> {
    let bytes = BASE64URL
        .decode(part.trim_end_matches('='))
        .map_err(|_| SignatureError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| SignatureError::Malformed)
}

#[cfg(test)]
mod tests;
