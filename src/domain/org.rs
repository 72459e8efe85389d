//! Organisation profiles and the validation of `pingate org import` files.
//!
//! The types live here; `org/import.rs` checks an import entry by entry and
//! collects every mistake, so an administrator fixes a file in one round.
//! Checks against what the database already holds are the caller's job.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use utoipa::ToSchema;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::email::EmailAddress;
use crate::domain::phone::E164;
use crate::domain::string_enum::string_enum;

mod import;

pub use import::{parse_import, parse_org_json};

pub const MAX_ORG_ID_LEN: usize = 64;

/// A stable organisation id: 1 to 64 of `[a-z0-9-]`, no leading or trailing
/// '-'. It appears in URLs, audit events and CLI arguments unescaped.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an org id is 1 to 64 of a-z, 0-9 and '-', not starting or ending with '-'")]
pub struct OrgIdError;

impl OrgId {
    pub fn parse(input: &str) -> Result<OrgId, OrgIdError> {
        let ok = !input.is_empty()
            && input.len() <= MAX_ORG_ID_LEN
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !input.starts_with('-')
            && !input.ends_with('-');
        if ok {
            Ok(OrgId(input.to_owned()))
        } else {
            Err(OrgIdError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OrgId").field(&self.0).finish()
    }
}

impl FromStr for OrgId {
    type Err = OrgIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgId::parse(s)
    }
}

impl AsRef<str> for OrgId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for OrgId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrgId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        OrgId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

string_enum! {
    /// A challenge channel. One string form each, shared by the database,
    /// the API and the audit log.
    #[derive(PartialOrd, Ord, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub Channel {
        Email => "email",
        Sms => "sms",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel: expected \"email\" or \"sms\"")]
pub struct UnknownChannel;

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::parse(s).ok_or(UnknownChannel)
    }
}

/// The contacts of record: the only places PINs and grant notices are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
// Unknown fields are refused on the way in (`import::RawOrg`); serde ignores
// this when serialising, utoipa states it in the schema.
#[serde(deny_unknown_fields)]
pub struct Contacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<String>, format = Email)]
    pub email: Option<EmailAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sms: Option<E164>,
}

/// An organisation profile, in the shape of one `[[org]]` entry of `pingate org import`. Answers always include `registered_numbers`, `channels` and `contacts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
// Unknown fields are refused on the way in (`import::RawOrg`); serde ignores
// this when serialising, utoipa states it in the schema.
#[serde(deny_unknown_fields)]
pub struct OrgProfile {
    pub id: OrgId,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// What the caller keys into the IVR.
    #[schema(pattern = "^[0-9]{4,20}$")]
    pub account_number: String,
    /// Callers from these numbers (with attested caller ID) are trusted.
    #[schema(required = false)]
    pub registered_numbers: Vec<E164>,
    /// Challenge channels this org accepts; each needs its contact.
    #[schema(min_items = 1)]
    pub channels: Vec<Channel>,
    #[schema(required = false)]
    pub contacts: Contacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("en", "pt-BR"), max_length = 35)]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    /// The advanced support contract: Severity A (24x7) is offered to this org's callers.
    #[schema(default = false, required = false)]
    pub severity_a: bool,
}

impl OrgProfile {
    /// The registered numbers, for the caller's check that none already
    /// belongs to another org in the database.
    pub fn numbers(&self) -> impl Iterator<Item = &E164> {
        self.registered_numbers.iter()
    }

    pub fn accepts(&self, channel: Channel) -> bool {
        self.channels.contains(&channel)
    }

    /// The registered destination for a channel, if the profile has one.
    /// PINs and notices go here and nowhere else.
    pub fn destination(&self, channel: Channel) -> Option<Destination> {
        match channel {
            Channel::Email => self.contacts.email.as_ref().map(|e| Destination {
                address: e.as_str().to_string(),
                masked: e.mask(),
            }),
            Channel::Sms => self.contacts.sms.as_ref().map(|n| Destination {
                address: n.as_str().to_string(),
                masked: n.mask(),
            }),
        }
    }
}

/// Where a message to an org goes: the address, and the masked form that
/// logs, audit events and API answers show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub address: String,
    pub masked: String,
}

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Toml,
    Json,
}

impl ImportFormat {
    /// `.json` (any case) is JSON; everything else is read as TOML, the
    /// documented format. Import uses [`ImportFormat::for_file`], which
    /// refuses extensions it does not read.
    pub fn from_path(path: &Path) -> ImportFormat {
        Self::for_file(path).unwrap_or(ImportFormat::Toml)
    }

    /// `.toml` or no extension is TOML, `.json` JSON (any case); anything
    /// else (`orgs.yaml`) is None, so it is refused rather than misread.
    pub fn for_file(path: &Path) -> Option<ImportFormat> {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
        {
            None => Some(ImportFormat::Toml),
            Some(ext) if ext == "toml" => Some(ImportFormat::Toml),
            Some(ext) if ext == "json" => Some(ImportFormat::Json),
            Some(_) => None,
        }
    }
}

/// One mistake in an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The org's id as written (escaped), `#N` (1-based position) when it
    /// has none, or empty for a file-level error.
    pub org: String,
    /// Dotted path of the field: `registered_numbers[1]`, `contacts.email`,
    /// or `file` for syntax and shape errors.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.org.is_empty() {
            write!(f, "{}: {}", self.field, self.message)
        } else {
            write!(f, "org {}: {}: {}", self.org, self.field, self.message)
        }
    }
}

/// Every mistake found in an import, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErrors {
    pub errors: Vec<ImportError>,
}

impl ImportErrors {
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ImportError> {
        self.errors.iter()
    }

    fn file(message: impl Into<String>) -> ImportErrors {
        ImportErrors {
            errors: vec![ImportError {
                org: String::new(),
                field: "file".to_owned(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for ImportErrors {
    /// One error per line, no trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportErrors {}

impl<'a> IntoIterator for &'a ImportErrors {
    type Item = &'a ImportError;
    type IntoIter = std::slice::Iter<'a, ImportError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

#[cfg(test)]
mod tests;
