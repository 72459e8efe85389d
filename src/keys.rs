//! Server-side secrets: the pepper (argon2 secret key, and the root that
//! outbox-sealing and pseudonym keys are derived from) and the audit
//! checkpoint signing key. Taken from the configuration when it gives
//! them, else generated into the data directory, mode 0600, on first start.
//! Read-only commands load them without ever creating one.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use hmac::{Hmac, KeyInit, Mac};
use rand::TryRng;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

pub use crate::audit::checkpoint::parse_seed;
use crate::config::Settings;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid key file: {why}")]
    Invalid { path: String, why: String },
    #[error("the operating system's random generator failed")]
    Random,
    /// A read-only command found no key where it looked (nothing was created).
    #[error(
        "no {what} at {path} (nothing was created): the first `pingate serve` (or a command that writes, such as `pingate agent add`) makes it; or set {key}, or point --config at the deployment's configuration"
    )]
    Absent {
        what: &'static str,
        path: String,
        key: &'static str,
    },
}

/// Whether a missing key file may be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Create,
    Refuse,
}

pub struct Keys {
    pepper: SecretString,
    pub signing: SigningKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

impl Keys {
    pub fn load_or_create(settings: &Settings) -> Result<Keys, KeyError> {
        Self::load(settings, Missing::Create)
    }

    /// Loads the keys; with [`Missing::Refuse`] a key that is neither
    /// configured nor on disk is an error and nothing is written.
    pub fn load(settings: &Settings, missing: Missing) -> Result<Keys, KeyError> {
        let pepper = match &settings.security.pepper {
            Some(p) => SecretString::from(p.expose()),
            None => load_file(
                &settings.pepper_path(),
                missing,
                ("pepper", "security.pepper"),
                |bytes| Ok(SecretString::from(hex::encode(bytes))),
                |text| {
                    let t = text.trim();
                    if t.len() < 32 {
                        return Err("the pepper must be at least 32 characters".into());
                    }
                    Ok(SecretString::from(t))
                },
            )?,
        };
        let signing = Self::signing_key(settings, missing)?;
        Ok(Keys { pepper, signing })
    }

    /// The checkpoint signing key alone (what `audit public-key` needs).
    pub fn signing_key(settings: &Settings, missing: Missing) -> Result<SigningKey, KeyError> {
        if let Some(seed) = &settings.audit.signing_key {
            return parse_seed(seed.expose()).map_err(|why| KeyError::Invalid {
                path: "audit.signing_key".into(),
                why,
            });
        }
        load_file(
            &settings.signing_key_path(),
            missing,
            ("audit signing key", "audit.signing_key"),
            |bytes| Ok(SigningKey::from_bytes(bytes)),
            parse_seed,
        )
    }

    pub fn pepper(&self) -> &[u8] {
        self.pepper.expose_secret().as_bytes()
    }

    /// A key for one purpose, so no two uses share key material.
    pub fn derive(&self, label: &str) -> SecretBox<[u8; 32]> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.pepper())
            .expect("HMAC takes any key length");
        mac.update(label.as_bytes());
        let out: [u8; 32] = mac.finalize().into_bytes().into();
        SecretBox::new(Box::new(out))
    }
}

/// Reads the key file, or (when allowed) creates it from 32 fresh random
/// bytes. The file holds the value as text: hex for the pepper, base64 for
/// the seed. `names` is what the key is called and the setting that gives it.
fn load_file<T>(
    path: &Path,
    missing: Missing,
    names: (&'static str, &'static str),
    from_random: impl Fn(&[u8; 32]) -> Result<T, String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text).map_err(|why| KeyError::Invalid {
            path: path.display().to_string(),
            why,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && missing == Missing::Refuse => {
            Err(KeyError::Absent {
                what: names.0,
                path: path.display().to_string(),
                key: names.1,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut bytes = [0u8; 32];
            rand::rngs::SysRng
                .try_fill_bytes(&mut bytes)
                .map_err(|_| KeyError::Random)?;
            let value = from_random(&bytes).map_err(|why| KeyError::Invalid {
                path: path.display().to_string(),
                why,
            })?;
            let text = if path.file_name().is_some_and(|n| n == "pepper") {
                hex::encode(bytes)
            } else {
                STANDARD.encode(bytes)
            };
            write_private(path, text.as_bytes()).map_err(io)?;
            Ok(value)
        }
        Err(e) => Err(io(e)),
    }
}

/// Creates the file exclusively with mode 0600 (two instances starting at
/// once cannot both write a different key).
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(content)?;
    f.sync_all()
}

#[cfg(test)]
mod tests;
