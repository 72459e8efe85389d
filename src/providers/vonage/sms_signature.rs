//! The SMS API's own webhook signature ("Signing messages"), which its
//! delivery receipts carry instead of a JWT when the account signs them:
//! a `sig` parameter, the hex HMAC-SHA256 with the signature secret of
//! every other parameter sorted by name and written `&name=value` (with
//! `&` and `=` in values replaced by `_`), and a `timestamp` (Unix
//! seconds) that pingate requires within 300 s of now. Only the dashboard's
//! "SHA-256 HMAC" method is accepted: MD5 and SHA-1 are refused as
//! mismatches. Pure: the time is an argument.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::signature::TOLERANCE_SECS;

/// Why a delivery receipt is not Vonage's. Never echoes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SmsSignatureError {
    #[error("neither a bearer JWT nor the SMS API's sig parameter is present")]
    MissingSig,
    #[error("the receipt's timestamp is missing or not whole seconds")]
    BadTimestamp,
    #[error("the receipt's timestamp is more than 300 s from now")]
    Stale,
    #[error("a signed parameter is repeated")]
    Repeated,
    #[error("sig is not the SHA-256 HMAC of the parameters with vonage.signature_secret")]
    Mismatch,
}

/// The exact bytes signed: `&name=value` for every parameter but `sig`,
/// sorted by name.
pub fn signed_string(params: &[(String, String)]) -> Result<String, SmsSignatureError> {
    let mut kept: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sig").collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    if kept.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(SmsSignatureError::Repeated);
    }
    let mut out = String::new();
    for (k, v) in kept {
        out.push('&');
        out.push_str(k);
        out.push('=');
        out.push_str(&v.replace(['&', '='], "_"));
    }
    Ok(out)
}

/// Checks `sig` at `now_secs`; returns it (lower case) as the receipt's
/// replay key.
pub fn verify(
    secret: &[u8],
    params: &[(String, String)],
    now_secs: i64,
) -> Result<String, SmsSignatureError> {
    let mut sigs = params.iter().filter(|(k, _)| k == "sig");
    let sig = sigs.next().ok_or(SmsSignatureError::MissingSig)?;
    if sigs.next().is_some() {
        return Err(SmsSignatureError::Repeated);
    }
    let timestamp = params
        .iter()
        .find(|(k, _)| k == "timestamp")
        .map(|(_, v)| v.as_str())
        .filter(|t| !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or(SmsSignatureError::BadTimestamp)?;
    if now_secs.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SmsSignatureError::Stale);
    }
    let given = hex::decode(sig.1.trim()).map_err(|_| SmsSignatureError::Mismatch)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .map_err(|_| SmsSignatureError::Mismatch)?;
    mac.update(signed_string(params)?.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given)
        .map_err(|_| SmsSignatureError::Mismatch)?;
    Ok(sig.1.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests;
