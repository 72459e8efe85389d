//! Signed checkpoints: a Merkle tree head (origin, size, root, time) in the
//! C2SP tlog-checkpoint text form, signed as a C2SP signed note with Ed25519,
//! so a reviewer can keep it as a file and check it offline. Pure, no I/O.

use super::merkle::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Every signature line starts with an em dash and a space (C2SP signed-note).
const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// C2SP signed-note algorithm byte for Ed25519.
const ALG_ED25519: u8 = 0x01;
const TIMESTAMP_PREFIX: &str = "timestamp ";

/// A signed statement that the log `origin` had `size` entries with Merkle
/// root `root` at `timestamp` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub timestamp: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("key name must be non-empty and contain no spaces, plus signs or control characters")]
    InvalidKeyName,
    #[error("origin must be non-empty and contain no control characters")]
    InvalidOrigin,
    #[error("checkpoint text contains a control character")]
    ControlCharacter,
    #[error("checkpoint has no blank line between its body and its signature")]
    MissingSignature,
    #[error("checkpoint body is malformed: {0}")]
    MalformedBody(&'static str),
    #[error("signature line is malformed: {0}")]
    MalformedSignature(&'static str),
    #[error("checkpoint has text after its signature line")]
    TrailingData,
    #[error("checkpoint is signed by key {found:?}, expected {expected:?}")]
    UnknownKey { expected: String, found: String },
    #[error("signature was made by a different key than the one given")]
    WrongKeyId,
    #[error("signature does not match the checkpoint")]
    BadSignature,
    #[error("verifier key is malformed: {0}")]
    MalformedPublicKey(&'static str),
}

/// Signs `cp` and returns the whole checkpoint file: body, blank line and one
/// signature line.
///
/// Fails if the origin or key name would not survive a round trip through
/// [`parse_and_verify`] (empty, or a newline that would forge extra lines).
pub fn sign(cp: &Checkpoint, key_name: &str, key: &SigningKey) -> Result<String, CheckpointError> {
    check_key_name(key_name)?;
    if cp.origin.is_empty() || cp.origin.chars().any(char::is_control) {
        return Err(CheckpointError::InvalidOrigin);
    }
    let body = format!(
        "{}\n{}\n{}\n{TIMESTAMP_PREFIX}{}\n",
        cp.origin,
        cp.size,
        STANDARD.encode(cp.root),
        cp.timestamp
    );
    Ok(sign_note(&body, key_name, key))
}

/// Parses a checkpoint file and checks its signature against `key` named
/// `key_name`. Strict: exactly the four body lines [`sign`] writes, in
/// canonical form, then exactly one signature line, by that key.
pub fn parse_and_verify(
    text: &str,
    key_name: &str,
    key: &VerifyingKey,
) -> Result<Checkpoint, CheckpointError> {
    let body = open_note(text, key_name, key)?;
    // Parsed only once authenticated: a valid signature on a malformed body
    // can only come from a buggy signer, but it is still refused.
    parse_body(body)
}

/// The C2SP verifier key `<name>+<hex key id>+<base64(0x01 ‖ public key)>`,
/// the form reviewers pin and pass to verification tools.
pub fn encode_public_key(name: &str, key: &VerifyingKey) -> Result<String, CheckpointError> {
    check_key_name(name)?;
    let mut raw = Vec::with_capacity(33);
    raw.push(ALG_ED25519);
    raw.extend_from_slice(key.as_bytes());
    Ok(format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, key)),
        STANDARD.encode(raw)
    ))
}

/// Reads a verifier key written by [`encode_public_key`] (or any C2SP
/// Ed25519 verifier key), checking that the key id matches name and key.
pub fn decode_public_key(s: &str) -> Result<(String, VerifyingKey), CheckpointError> {
    use CheckpointError::MalformedPublicKey as Bad;
    // Names cannot contain '+', but base64 can: split at most twice.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Bad("expected name+keyid+key"));
    };
    check_key_name(name)?;
    if id_hex.len() != 8 {
        return Err(Bad("key id is not 8 hex digits"));
    }
    let id = hex::decode(id_hex).map_err(|_| Bad("key id is not 8 hex digits"))?;
    let raw = STANDARD
        .decode(key_b64)
        .map_err(|_| Bad("key is not base64"))?;
    let Some((&alg, point)) = raw.split_first() else {
        return Err(Bad("key is empty"));
    };
    if alg != ALG_ED25519 {
        return Err(Bad("key is not an Ed25519 key"));
    }
    let point: &[u8; 32] = point
        .try_into()
        .map_err(|_| Bad("Ed25519 key is not 32 bytes"))?;
    let key = VerifyingKey::from_bytes(point).map_err(|_| Bad("not a valid Ed25519 key"))?;
    // A small-order key would accept forged signatures for many messages.
    if key.is_weak() {
        return Err(Bad("Ed25519 key is weak"));
    }
    if id != key_id(name, &key) {
        return Err(Bad("key id does not match the name and key"));
    }
    Ok((name.to_owned(), key))
}

/// C2SP key id: the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ key). It
/// binds the name to the key so a signature cannot be relabelled.
fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([ALG_ED25519])
        .chain_update(key.as_bytes())
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// C2SP key names: non-empty, no Unicode spaces, no '+'. Control characters
/// are refused too, so a name can never break the line structure.
fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    let bad = |c: char| c.is_whitespace() || c == '+' || c.is_control();
    if name.is_empty() || name.chars().any(bad) {
        return Err(CheckpointError::InvalidKeyName);
    }
    Ok(())
}

/// Signs a note body (which must end in a newline) as a C2SP signed note.
fn sign_note(body: &str, key_name: &str, key: &SigningKey) -> String {
    let signature = key.sign(body.as_bytes());
    let mut blob = Vec::with_capacity(4 + 64);
    blob.extend_from_slice(&key_id(key_name, &key.verifying_key()));
    blob.extend_from_slice(&signature.to_bytes());
    format!(
        "{body}\n{SIGNATURE_PREFIX}{key_name} {}\n",
        STANDARD.encode(blob)
    )
}

/// Checks a signed note carrying exactly one signature, by `key_name`/`key`,
/// and returns its body (everything before the blank line, final newline
/// included).
fn open_note<'a>(
    text: &'a str,
    key_name: &str,
    key: &VerifyingKey,
) -> Result<&'a str, CheckpointError> {
    use CheckpointError::MalformedSignature as Bad;
    check_key_name(key_name)?;
    // No CR, tabs or escapes: what the reviewer sees is what was signed.
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(CheckpointError::ControlCharacter);
    }
    let split = text.find("\n\n").ok_or(CheckpointError::MissingSignature)?;
    let (body, signatures) = (&text[..=split], &text[split + 2..]);

    let line = signatures
        .strip_suffix('\n')
        .ok_or(Bad("missing final newline"))?;
    if line.contains('\n') {
        return Err(CheckpointError::TrailingData);
    }
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(Bad("does not start with an em dash and a space"))?;
    let (name, blob) = rest
        .split_once(' ')
        .ok_or(Bad("no space between key name and signature"))?;
    if name != key_name {
        return Err(CheckpointError::UnknownKey {
            expected: key_name.to_owned(),
            found: name.to_owned(),
        });
    }
    let blob = STANDARD
        .decode(blob)
        .map_err(|_| Bad("signature is not base64"))?;
    let Some((id, signature)) = blob.split_at_checked(4) else {
        return Err(Bad("signature is too short"));
    };
    let signature: &[u8; 64] = signature
        .try_into()
        .map_err(|_| Bad("signature is not 64 bytes"))?;
    if id != key_id(key_name, key) {
        return Err(CheckpointError::WrongKeyId);
    }
    // Strict verification also refuses malleable (non-canonical) signatures.
    key.verify_strict(body.as_bytes(), &Signature::from_bytes(signature))
        .map_err(|_| CheckpointError::BadSignature)?;
    Ok(body)
}

fn parse_body(body: &str) -> Result<Checkpoint, CheckpointError> {
    use CheckpointError::MalformedBody as Bad;
    let mut lines = body.strip_suffix('\n').unwrap_or(body).split('\n');
    let (Some(origin), Some(size), Some(root), Some(extension), None) = (
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
    ) else {
        return Err(Bad("expected origin, size, root and timestamp lines"));
    };
    if origin.is_empty() {
        return Err(Bad("origin is empty"));
    }
    let size = canonical_decimal(size).ok_or(Bad("size is not a plain decimal number"))?;
    let root = STANDARD
        .decode(root)
        .ok()
        .and_then(|r| Hash::try_from(r).ok())
        .ok_or(Bad("root is not a base64 SHA-256 hash"))?;
    let timestamp = extension
        .strip_prefix(TIMESTAMP_PREFIX)
        .and_then(canonical_decimal)
        .ok_or(Bad("expected \"timestamp <unix seconds>\""))?;
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
        timestamp,
    })
}

/// Parses a decimal number written exactly as `to_string` would write it
/// (no sign on positives, no leading zeros), so each value has one text.
fn canonical_decimal<T: std::str::FromStr + ToString>(s: &str) -> Option<T> {
    let value: T = s.parse().ok()?;
    (value.to_string() == s).then_some(value)
}

/// An ed25519 seed written as base64 of its 32 bytes (`audit.signing_key`
/// or the key file's text).
pub fn parse_seed(text: &str) -> Result<SigningKey, String> {
    let raw = STANDARD
        .decode(text.trim())
        .map_err(|_| "not base64 (make one with `openssl rand -base64 32`)".to_string())?;
    let seed: [u8; 32] = raw.try_into().map_err(|_| {
        "not a 32-byte ed25519 seed (make one with `openssl rand -base64 32`)".to_string()
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests;
