//! The last checkpoint this server signed, kept beside the signing key,
//! outside the database: a log that does not extend it is never signed
//! again, so someone who can write the database cannot get a rewritten
//! history signed by deleting the stored checkpoints. The file holds the
//! signed checkpoint text itself, so a tampered file fails its signature.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ed25519_dalek::VerifyingKey;

use super::checkpoint;
use super::merkle::Hash;

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a checkpoint signed by this server's key: {why}")]
    Invalid { path: String, why: String },
}

/// The (size, root) of the last signed checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastSigned {
    pub size: u64,
    pub root: Hash,
}

pub struct Anchor {
    path: PathBuf,
    /// Why the last attempt to sign was refused, until one succeeds
    /// (`/readyz` reports it).
    refusal: Mutex<Option<String>>,
}

impl Anchor {
    /// The anchor file beside `signing_key` (`audit-signing.key.last-signed`).
    pub fn beside(signing_key: &Path) -> Anchor {
        let mut name = signing_key
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".last-signed");
        Anchor {
            path: signing_key.with_file_name(name),
            refusal: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> AnchorError {
        AnchorError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The last signed checkpoint, or `None` before the first signing.
    pub fn load(
        &self,
        origin: &str,
        key: &VerifyingKey,
    ) -> Result<Option<LastSigned>, AnchorError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let cp =
            checkpoint::parse_and_verify(&text, origin, key).map_err(|e| AnchorError::Invalid {
                path: self.path.display().to_string(),
                why: e.to_string(),
            })?;
        Ok(Some(LastSigned {
            size: cp.size,
            root: cp.root,
        }))
    }

    /// Keeps `text` (a checkpoint of `size` just signed or verified) unless
    /// the file already holds a larger one (another instance sharing the
    /// key's directory). Written to a temporary file and renamed, 0600.
    pub fn store(
        &self,
        text: &str,
        size: u64,
        origin: &str,
        key: &VerifyingKey,
    ) -> Result<(), AnchorError> {
        if let Ok(Some(held)) = self.load(origin, key)
            && held.size >= size
        {
            return Ok(());
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| self.io(e))?;
        f.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.refusal.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_refused(&self, why: String) {
        *self.lock() = Some(why);
    }

    pub fn clear_refused(&self) {
        *self.lock() = None;
    }

    pub fn refusal(&self) -> Option<String> {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests;
