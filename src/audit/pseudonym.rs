//! Pseudonyms for phone numbers in audit events: a keyed hash lets a
//! reviewer correlate events of one caller without the log holding the
//! number; the last digits help a human tell callers apart.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;
use hmac::Hmac;

/// Holds the HMAC key (derived from the pepper, never the pepper itself).
#[derive(Clone)]
pub struct Pseudonymiser {
    key: [u8; 32],
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(***)")
    }
}

impl Pseudonymiser {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
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
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..8])
    }
}

#[cfg(test)]
mod tests;
