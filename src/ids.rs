//! Identifiers and bearer secrets.
//!
//! Ids are UUIDv7 (a millisecond timestamp, then 74 bits of counter and
//! randomness; one process's ids sort in the order it made them), prefixed
//! by what they name (`call_…`, `chl_…`) so a log line or a support ticket
//! says what it refers to. Being time-ordered, a new row's id lands at the
//! end of its index instead of on a random page: a group of webhooks
//! dirties a page or two of each such index rather than one page each.
//! Ids are names, never secrets (tokens are), and what they reveal, when a
//! row was made, is shown beside them anyway.
//!
//! Tokens are 256-bit random values stored only as SHA-256 (their entropy
//! makes a slow hash unnecessary).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

pub fn call_id() -> String {
    new_id("call")
}
pub fn challenge_id() -> String {
    new_id("chl")
}
pub fn grant_id() -> String {
    new_id("grt")
}
pub fn message_id() -> String {
    new_id("msg")
}
pub fn principal_id() -> String {
    new_id("prn")
}

/// A freshly minted bearer token: shown once, stored as its hash.
pub struct NewToken {
    pub secret: SecretString,
    pub hash: [u8; 32],
}

/// `prefix` tells token kinds apart at a glance (`pga_` agent, `pgg_` grant).
pub fn new_token(prefix: &str) -> Result<NewToken, rand::rngs::SysError> {
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes)?;
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = token_hash(&secret);
    Ok(NewToken {
        secret: secret.into(),
        hash,
    })
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn token_hash_of(token: &SecretString) -> [u8; 32] {
    token_hash(token.expose_secret())
}

/// Ids we hand out are `prefix_` + 32 hex; anything else is not worth a query.
pub fn looks_like(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|r| r.len() == 32 && r.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
