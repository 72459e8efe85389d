//! Sealing of queued message bodies: a PIN waiting in the outbox is
//! ChaCha20-Poly1305 ciphertext under a key derived from the pepper, bound
//! to its message id so a sealed body cannot be moved to another row.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::TryRng;
use secrecy::{ExposeSecret, SecretBox, SecretString};

#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealing failed")]
    Seal,
    #[error("a sealed message body does not open (wrong key, wrong message, or tampered)")]
    Open,
}

const NONCE_LEN: usize = 12;

impl Sealer {
    pub fn new(key: &SecretBox<[u8; 32]>) -> Sealer {
        Sealer {
            cipher: ChaCha20Poly1305::new(&Key::from(*key.expose_secret())),
        }
    }

    /// nonce ‖ ciphertext; `aad` is the message id.
    pub fn seal(&self, plaintext: &str, aad: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::SysRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| SealError::Seal)?;
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], aad: &str) -> Result<SecretString, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| SealError::Open)?;
        let pt = self
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open)?;
        String::from_utf8(pt)
            .map(SecretString::from)
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests;
