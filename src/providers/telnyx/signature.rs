//! `telnyx-signature-ed25519`: base64 of the Ed25519 signature, by the
//! account's key, of `telnyx-timestamp` + `|` + the raw body; a timestamp
//! more than 300 s from now (either way) is refused, as Telnyx's SDKs do.
//! Pure: the time is an argument.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};

pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// How far `telnyx-timestamp` may be from now, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a request is not Telnyx's. Never echoes a header or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("telnyx-signature-ed25519 is missing")]
    MissingSignature,
    #[error("telnyx-timestamp is missing")]
    MissingTimestamp,
    #[error("telnyx-timestamp is not a whole number of seconds")]
    BadTimestamp,
    #[error("telnyx-timestamp is more than 300 s from now")]
    Stale,
    #[error("telnyx-signature-ed25519 is not base64 of 64 bytes")]
    Malformed,
    #[error("telnyx-signature-ed25519 does not match the body")]
    Mismatch,
}

/// What the signature covers, as received.
#[derive(Clone, Copy)]
pub struct SignedRequest<'a> {
    pub signature: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub body: &'a [u8],
}

/// The exact bytes Telnyx signs: `timestamp|body`.
pub fn signed_payload(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(timestamp.len() + 1 + body.len());
    out.extend_from_slice(timestamp.as_bytes());
    out.push(b'|');
    out.extend_from_slice(body);
    out
}

/// Checks the request against the account's public key at `now_secs`.
pub fn verify(
    public_key: &[u8; 32],
    req: &SignedRequest<'_>,
    now_secs: i64,
) -> Result<(), SignatureError> {
    let signature = req
        .signature
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::MissingSignature)?;
    let timestamp = req
        .timestamp
        .filter(|t| !t.is_empty())
        .ok_or(SignatureError::MissingTimestamp)?;
    let seconds = parse_seconds(timestamp)?;
    if now_secs.abs_diff(seconds) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let raw = BASE64
        .decode(signature.trim())
        .map_err(|_| SignatureError::Malformed)?;
    let raw: [u8; 64] = raw
        .as_slice()
        .try_into()
        .map_err(|_| SignatureError::Malformed)?;
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| SignatureError::Mismatch)?;
    key.verify_strict(
        &signed_payload(timestamp, req.body),
        &Signature::from_bytes(&raw),
    )
    .map_err(|_| SignatureError::Mismatch)
}

/// ASCII digits only, at most 12 of them (no sign, space or exponent).
fn parse_seconds(text: &str) -> Result<i64, SignatureError> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::BadTimestamp);
    }
    text.parse().map_err(|_| SignatureError::BadTimestamp)
}

#[cfg(test)]
mod tests;
