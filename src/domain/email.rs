//! Email addresses of organisations' contacts of record.
//!
//! A pragmatic subset of RFC 5322 (dot-atom local part, LDH domain): strict
//! enough that every accepted address is also accepted by the mail transport,
//! so a bad contact is caught at import rather than at the first send.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email address is empty")]
    Empty,
    #[error("email address is longer than 254 characters")]
    TooLong,
    #[error("email address must contain exactly one '@'")]
    At,
    #[error("email address contains whitespace or control characters")]
    Whitespace,
    #[error("the part before '@' must be 1 to 64 characters")]
    LocalLength,
    #[error("the part before '@' contains a character that is not allowed")]
    LocalCharacter,
    #[error("the part before '@' must not start or end with '.' or contain '..'")]
    LocalDots,
    #[error("the domain must have at least two labels separated by '.'")]
    DomainDots,
    #[error(
        "each domain label must be 1 to 63 letters, digits or '-', not starting or ending with '-'"
    )]
    DomainLabel,
}

/// A syntactically valid address; the domain is lower-cased (domains are
/// case-insensitive, local parts formally are not, so those are kept).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address; surrounding whitespace is ignored.
    pub fn parse(input: &str) -> Result<EmailAddress, EmailError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(EmailError::Empty);
        }
        if input.len() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        // Checked first so a CR/LF (header injection) gets the clearest error.
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Whitespace);
        }
        let (local, domain) = match input.split_once('@') {
            Some((l, d)) if !d.contains('@') => (l, d),
            _ => return Err(EmailError::At),
        };
        validate_local(local)?;
        validate_domain(domain)?;
        Ok(EmailAddress(format!(
            "{local}@{}",
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `a***@contoso.com`: enough for an agent to confirm the destination
    /// with the caller without reading it out.
    pub fn mask(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or(("", &self.0));
        // The local part is ASCII (validated), so its first char is one byte.
        let first = local.chars().next().map(String::from).unwrap_or_default();
        format!("{first}***@{domain}")
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }
}

/// The local part as a dot-atom: RFC 5322 `atext` runs joined by single
/// dots. Quoted local parts are legal but so rare for a company contact that
/// refusing them is the safer trade.
fn validate_local(local: &str) -> Result<(), EmailError> {
    if local.is_empty() || local.len() > MAX_LOCAL_LEN {
        return Err(EmailError::LocalLength);
    }
    if !local.chars().all(|c| c == '.' || is_atext(c)) {
        return Err(EmailError::LocalCharacter);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::LocalDots);
    }
    Ok(())
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)
}

fn validate_domain(domain: &str) -> Result<(), EmailError> {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(EmailError::DomainDots);
    }
    for label in labels {
        let ok = !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(EmailError::DomainLabel);
        }
    }
    Ok(())
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmailAddress").field(&self.0).finish()
    }
}

impl FromStr for EmailAddress {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailAddress::parse(s)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        EmailAddress::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
