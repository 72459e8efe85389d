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
mod tests {
    use super::*;

    fn sealer(b: u8) -> Sealer {
        Sealer::new(&SecretBox::new(Box::new([b; 32])))
    }

    #[test]
    fn seal_open_round_trip_and_ciphertext_hides_the_pin() {
        let s = sealer(1);
        let sealed = s.seal("Your code is 493817", "msg_1").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"493817"));
        assert_eq!(
            s.open(&sealed, "msg_1").unwrap().expose_secret(),
            "Your code is 493817"
        );
    }

    #[test]
    fn wrong_key_wrong_row_or_tampering_fail() {
        let s = sealer(1);
        let sealed = s.seal("x", "msg_1").unwrap();
        assert_eq!(
            sealer(2).open(&sealed, "msg_1").unwrap_err(),
            SealError::Open
        );
        assert_eq!(s.open(&sealed, "msg_2").unwrap_err(), SealError::Open);
        let mut t = sealed.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert_eq!(s.open(&t, "msg_1").unwrap_err(), SealError::Open);
        assert_eq!(s.open(&sealed[..5], "msg_1").unwrap_err(), SealError::Open);
    }
}
