//! Pseudonyms for phone numbers in audit events: a keyed hash lets a
//! reviewer correlate events of one caller without the log holding the
//! number; the last digits help a human tell callers apart.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;
use hmac::Hmac;

/// Holds the HMAC keyed with a key derived from the pepper (never the
/// pepper itself). Keyed once: each tag clones the keyed state instead of
/// hashing the key's pads again, which halves a tag's SHA-256 work.
#[derive(Clone)]
pub struct Pseudonymiser {
    mac: HmacSha256,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(***)")
    }
}

impl Pseudonymiser {
    pub fn new(key: [u8; 32]) -> Self {
        // HMAC accepts keys of any length; this cannot fail.
        let mac = <HmacSha256 as KeyInit>::new_from_slice(&key).expect("HMAC takes any key length");
        Self { mac }
    }

    /// `h:<16 hex>…<last 4 digits>`, e.g. `h:9f86d081884c7d65…0365`.
    pub fn number(&self, e164: &str) -> String {
        let tail: String = {
            let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
            digits[digits.len().saturating_sub(4)..].iter().collect()
        };
        format!("h:{}…{tail}", self.tag(e164))
    }

    fn tag(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..8])
    }
}

#[cfg(test)]
mod tests;
