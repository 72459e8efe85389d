//! One-time PINs: generation, parsing what an agent types, and hashing.
//!
//! A `Pin` is a secret (redacted `Debug`, no `Display`, no `Serialize`) and is
//! only ever stored as a peppered Argon2id hash. Randomness comes in as an
//! argument; hashing is CPU-heavy and synchronous, so callers run it on
//! the application's hashing threads (`app::HashPool`).

use std::fmt;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use rand::CryptoRng;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

/// Shortest PIN we issue: six digits is the usual floor for one-time codes
/// guarded by an attempt budget (NIST SP 800-63B).
pub const MIN_LEN: usize = 6;
/// Longest PIN a caller can reasonably read out.
pub const MAX_LEN: usize = 10;
/// The pepper is an HMAC-grade key; anything shorter is a configuration bug.
pub const MIN_PEPPER_LEN: usize = 32;

/// OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane.
pub const DEFAULT_M_KIB: u32 = 19 * 1024;
pub const DEFAULT_T: u32 = 2;
pub const DEFAULT_P: u32 = 1;

/// Upper bounds on the parameters `verify` will honour from a stored hash.
/// Ours never come close; the bounds keep a corrupted row from turning a
/// PIN check into a multi-gigabyte allocation or a minutes-long loop.
const MAX_VERIFY_M_KIB: u32 = 256 * 1024;
const MAX_VERIFY_T: u32 = 16;
const MAX_VERIFY_P: u32 = 8;

/// Typed input longer than this cannot be a PIN even with separators, and
/// refusing it early bounds the work done on hostile input.
const MAX_INPUT_LEN: usize = 64;

/// Salt for the dummy hash. It never protects anything: the dummy exists to
/// spend the same time as a real verify, and nothing can verify against it.
const DUMMY_SALT: &[u8] = b"pingate-dummy-hash-salt";
/// Contains letters, so no `Pin` can ever equal it.
const DUMMY_SECRET: &[u8] = b"pingate-dummy-not-a-pin";

/// Errors never include PIN digits: they may be logged or returned to agents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("PIN length must be between 6 and 10 digits, not {0}")]
    UnsupportedLength(usize),
    #[error("a PIN has exactly {expected} digits")]
    WrongLength { expected: usize },
    #[error("a PIN contains digits only")]
    NotDigits,
    #[error("the PIN pepper must be at least 32 bytes")]
    PepperTooShort,
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("argon2 hashing failed: {0}")]
    Hash(String),
}

/// A PIN of 6 to 10 ASCII digits.
pub struct Pin(SecretString);

impl Pin {
    /// A new PIN of `len` uniformly random digits. Use a CSPRNG seeded from
    /// the OS (`rand::rng()`) in production; tests pass a seeded `StdRng`.
    pub fn generate<R: CryptoRng + ?Sized>(len: usize, rng: &mut R) -> Result<Pin, PinError> {
        check_len(len)?;
        // Exact capacity: the buffer never reallocates, so no copy of the
        // digits is left behind in freed memory.
        let mut digits = String::with_capacity(len);
        for _ in 0..len {
            digits.push(random_digit(rng));
        }
        Ok(Pin(SecretString::from(digits)))
    }

    /// Parses what an agent typed: ASCII digits, optionally grouped with
    /// spaces or '-' ("123 456", "123-456"), exactly `expected_len` of them.
    pub fn parse_input(input: &str, expected_len: usize) -> Result<Pin, PinError> {
        check_len(expected_len)?;
        let wrong_length = PinError::WrongLength {
            expected: expected_len,
        };
        if input.len() > MAX_INPUT_LEN {
            return Err(wrong_length);
        }
        // Zeroizing wipes the scratch copy whichever way we leave.
        let mut digits = Zeroizing::new(String::with_capacity(expected_len));
        for c in input.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            // ASCII only: full-width or Arabic-Indic digits would hash
            // differently from the PIN we sent.
            if !c.is_ascii_digit() {
                return Err(PinError::NotDigits);
            }
            if digits.len() == expected_len {
                return Err(wrong_length);
            }
            digits.push(c);
        }
        if digits.len() != expected_len {
            return Err(wrong_length);
        }
        Ok(Pin(SecretString::from(digits.as_str())))
    }

    /// The digits, for the hasher and the outgoing message body only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn len(&self) -> usize {
        self.expose().len()
    }

    /// Always false for a constructed PIN; present because `len` is.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

fn check_len(len: usize) -> Result<(), PinError> {
    if (MIN_LEN..=MAX_LEN).contains(&len) {
        Ok(())
    } else {
        Err(PinError::UnsupportedLength(len))
    }
}

/// Largest multiple of 10 that fits the u32 range (2^32 - 6): draws at or
/// above it are rejected so every digit keeps exactly 1/10 probability,
/// instead of the tiny bias `x % 10` would have over the full range.
const DIGIT_LIMIT: u32 = u32::MAX - (u32::MAX % 10);

fn random_digit<R: CryptoRng + ?Sized>(rng: &mut R) -> char {
    loop {
        let x = rng.next_u32();
        if x < DIGIT_LIMIT {
            // x % 10 < 10, so the narrowing is exact.
            return char::from(b'0' + (x % 10) as u8);
        }
    }
}

/// Argon2's working memory (`m` KiB, 19 MiB by default), kept by a hashing
/// thread and lent to every hash it computes. Allocating it per hash left
/// each freed block resident in glibc's heaps, fragmented by the small
/// allocations that land in it between hashes, so RSS grew by about a
/// block per hash up to hundreds of MiB; one block per thread bounds it.
/// Argon2 writes every block before it reads it, so what a previous hash
/// left behind never affects the next one.
#[derive(Default)]
pub struct HashMemory {
    blocks: Vec<Block>,
}

impl HashMemory {
    /// An empty workspace; it grows to its hasher's own parameters.
    pub fn new() -> HashMemory {
        HashMemory::default()
    }

    /// The workspace's size in KiB (one argon2 block is 1 KiB).
    pub fn kib(&self) -> usize {
        self.blocks.len()
    }

    fn blocks(&mut self, params: &Params) -> &mut [Block] {
        let count = params.block_count();
        if self.blocks.len() < count {
            self.blocks.resize(count, Block::new());
        }
        &mut self.blocks[..count]
    }
}

/// Argon2id keyed with the server-side pepper, so a stolen database alone
/// cannot be brute-forced over the small PIN space.
pub struct PinHasher {
    pepper: SecretSlice<u8>,
    params: Params,
    dummy_hash: String,
}

impl PinHasher {
    /// A hasher with OWASP's default parameters.
    pub fn new(pepper: &[u8]) -> Result<PinHasher, PinError> {
        PinHasher::with_params(pepper, DEFAULT_M_KIB, DEFAULT_T, DEFAULT_P)
    }

    /// A hasher with explicit cost parameters (memory in KiB, passes, lanes);
    /// tests use cheap ones.
    pub fn with_params(pepper: &[u8], m_kib: u32, t: u32, p: u32) -> Result<PinHasher, PinError> {
        if pepper.len() < MIN_PEPPER_LEN {
            return Err(PinError::PepperTooShort);
        }
        let params = Params::new(m_kib, t, p, None).map_err(|e| PinError::Params(e.to_string()))?;
        let mut hasher = PinHasher {
            pepper: SecretSlice::from(pepper.to_vec()),
            params,
            dummy_hash: String::new(),
        };
        // Computing it here also proves the pepper and parameters work.
        hasher.dummy_hash = hasher.hash_bytes(&mut HashMemory::new(), DUMMY_SECRET, DUMMY_SALT)?;
        Ok(hasher)
    }

    /// A PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`) with a
    /// fresh 16-byte salt drawn from `rng`, computed in a memory of its own.
    pub fn hash<R: CryptoRng + ?Sized>(&self, pin: &Pin, rng: &mut R) -> Result<String, PinError> {
        self.hash_in(&mut HashMemory::new(), pin, rng)
    }

    /// [`PinHasher::hash`] in a workspace that outlives the call.
    pub fn hash_in<R: CryptoRng + ?Sized>(
        &self,
        memory: &mut HashMemory,
        pin: &Pin,
        rng: &mut R,
    ) -> Result<String, PinError> {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        self.hash_bytes(memory, pin.expose().as_bytes(), &salt)
    }

    /// Whether `pin` matches `phc`, computed in a memory of its own.
    pub fn verify(&self, pin: &Pin, phc: &str) -> bool {
        self.verify_in(&mut HashMemory::new(), pin, phc)
    }

    /// Whether `pin` matches `phc`. The comparison of the outputs is
    /// constant time. Anything malformed, of another algorithm or with
    /// parameters beyond sane bounds is simply `false`.
    pub fn verify_in(&self, memory: &mut HashMemory, pin: &Pin, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        if parsed.algorithm != ARGON2ID_IDENT {
            return false;
        }
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        if params.m_cost() > MAX_VERIFY_M_KIB
            || params.t_cost() > MAX_VERIFY_T
            || params.p_cost() > MAX_VERIFY_P
        {
            return false;
        }
        let version = parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from);
        let (Ok(version), Some(salt), Some(expected)) = (version, &parsed.salt, &parsed.hash)
        else {
            return false;
        };
        self.compute(memory, pin.expose().as_bytes(), salt, version, params)
            // Output's equality is constant time.
            .is_ok_and(|computed| computed.hash.as_ref() == Some(expected))
    }

    /// A valid hash, with the current parameters, that no PIN verifies
    /// against. Verify against it when a challenge id is unknown so the
    /// answer takes as long as for a real one.
    pub fn dummy_hash(&self) -> &str {
        &self.dummy_hash
    }

    fn hash_bytes(
        &self,
        memory: &mut HashMemory,
        secret: &[u8],
        salt: &[u8],
    ) -> Result<String, PinError> {
        let salt = Salt::new(salt).map_err(|e| PinError::Hash(e.to_string()))?;
        let hash = self.compute(memory, secret, &salt, Version::V0x13, self.params.clone())?;
        Ok(hash.to_string())
    }

    /// The PHC hash of `secret` under `salt`, `version` and `params`, in
    /// `memory`. `Argon2` borrows its secret, so it is rebuilt per call;
    /// that costs a struct copy, nothing compared with the hash itself.
    fn compute(
        &self,
        memory: &mut HashMemory,
        secret: &[u8],
        salt: &Salt,
        version: Version,
        params: Params,
    ) -> Result<PasswordHash, PinError> {
        let hash_err = |e: &dyn fmt::Display| PinError::Hash(e.to_string());
        let argon2 = Argon2::new_with_secret(
            self.pepper.expose_secret(),
            Algorithm::Argon2id,
            version,
            params.clone(),
        )
        .map_err(|e| PinError::Params(e.to_string()))?;
        let mut buffer = [0u8; Output::MAX_LENGTH];
        let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let out = buffer
            .get_mut(..len)
            .ok_or(PinError::Hash("output length".into()))?;
        // A stored hash costlier than ours (older parameters, or a corrupt
        // row within the verify bounds) gets memory of its own for this
        // call only: the kept workspace never outgrows our own parameters.
        let mut own;
        let memory = if params.block_count() > self.params.block_count() {
            own = HashMemory::new();
            &mut own
        } else {
            memory
        };
        argon2
            .hash_password_into_with_memory(secret, salt.as_ref(), out, memory.blocks(&params))
            .map_err(|e| hash_err(&e))?;
        Ok(PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(version.into()),
            params: ParamsString::try_from(&params).map_err(|e| hash_err(&e))?,
            salt: Some(*salt),
            hash: Some(Output::new(out).map_err(|e| hash_err(&e))?),
        })
    }
}

impl fmt::Debug for PinHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinHasher")
            .field("m_kib", &self.params.m_cost())
            .field("t", &self.params.t_cost())
            .field("p", &self.params.p_cost())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
