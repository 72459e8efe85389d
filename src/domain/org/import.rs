//! Import validation: raw serde shapes first, then every rule on every
//! entry, with each mistake reported by org and field path. Nothing is
//! returned unless the whole file is valid.

use std::collections::HashMap;

use serde_json::Value;

use self::shape::{RawContacts, kind};
use super::{Channel, Contacts, ImportError, ImportErrors, ImportFormat, OrgId, OrgProfile};
use crate::domain::email::EmailAddress;
use crate::domain::phone::{E164, PhoneError};

mod shape;

const MAX_NAME_CHARS: usize = 200;
const ACCOUNT_DIGITS: std::ops::RangeInclusive<usize> = 4..=20;
const MAX_LANGUAGE_LEN: usize = 35;
/// Raw values quoted back in errors are cut to this many characters.
const MAX_QUOTED_CHARS: usize = 64;

/// Parses and validates a whole import file. Nothing is returned unless every
/// entry is valid: the import is all or nothing.
pub fn parse_import(text: &str, format: ImportFormat) -> Result<Vec<OrgProfile>, ImportErrors> {
    let document = match format {
        ImportFormat::Toml => parse_toml(text)?,
        ImportFormat::Json => {
            serde_json::from_str::<Value>(text).map_err(|e| ImportErrors::file(e.to_string()))?
        }
    };
    let Value::Object(mut top) = document else {
        return Err(ImportErrors::file(
            "expected a table with an `org` array ([[org]] entries)",
        ));
    };
    let entries = match top.remove("org") {
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(ImportErrors::file(
                "`org` must be an array of tables ([[org]] entries)",
            ));
        }
        None => Vec::new(),
    };
    let mut errors = Vec::new();
    // Left-over top-level keys are typos of `org` or stray settings; either
    // way the file is not what the administrator thinks it is.
    for key in top.keys() {
        errors.push(file_error(format!(
            "unknown top-level key {}: only [[org]] entries are allowed",
            quote(key)
        )));
    }
    if entries.is_empty() && errors.is_empty() {
        errors.push(file_error("no [[org]] entries"));
    }

    let mut seen = Seen::default();
    let mut profiles = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        if let Some(profile) = validate_entry(index + 1, entry, &mut seen, &mut errors) {
            profiles.push(profile);
        }
    }
    if errors.is_empty() {
        Ok(profiles)
    } else {
        Err(ImportErrors { errors })
    }
}

/// Validates one org given as JSON in the import shape (the admin API's
/// create and update bodies), with the same rules and messages.
pub fn parse_org_json(value: &Value) -> Result<OrgProfile, ImportErrors> {
    let mut errors = Vec::new();
    // validate_entry answers a profile only when it reported no mistake.
    validate_entry(1, value, &mut Seen::default(), &mut errors).ok_or(ImportErrors { errors })
}

/// TOML goes through `serde_json::Value` so both formats share one
/// validator. Syntax errors carry the parser's position.
fn parse_toml(text: &str) -> Result<Value, ImportErrors> {
    let table = toml::from_str::<toml::Table>(text).map_err(|e| {
        let message = e.message().trim().replace('\n', "; ");
        match e.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                ImportErrors::file(format!("{message} at line {line} column {column}"))
            }
            None => ImportErrors::file(message),
        }
    })?;
    serde_json::to_value(table).map_err(|e| ImportErrors::file(e.to_string()))
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn file_error(message: impl Into<String>) -> ImportError {
    ImportError {
        org: String::new(),
        field: "file".to_owned(),
        message: message.into(),
    }
}

/// What earlier entries of the same file claimed, for uniqueness checks.
#[derive(Default)]
struct Seen {
    ids: HashMap<OrgId, usize>,
    accounts: HashMap<String, String>,
    numbers: HashMap<E164, String>,
}

/// Collects one entry's errors.
struct EntryErrors<'a> {
    org: String,
    errors: &'a mut Vec<ImportError>,
    count: usize,
    /// Fields already reported as the wrong type: not "missing" as well.
    mistyped: Vec<String>,
}

impl EntryErrors<'_> {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.count += 1;
        self.errors.push(ImportError {
            org: self.org.clone(),
            field: field.into(),
            message: message.into(),
        });
    }

    fn mistyped(&mut self, field: &str, message: String) {
        self.mistyped.push(field.to_owned());
        self.push(field, message);
    }

    fn was_mistyped(&self, field: &str) -> bool {
        self.mistyped.iter().any(|f| f == field)
    }

    fn missing(&mut self, field: &str) {
        if !self.was_mistyped(field) {
            self.push(field, "missing");
        }
    }
}

/// Validates entry number `position` (1-based); returns the profile only if
/// the entry has no error.
fn validate_entry(
    position: usize,
    entry: &Value,
    seen: &mut Seen,
    errors: &mut Vec<ImportError>,
) -> Option<OrgProfile> {
    let label = match entry.get("id").and_then(Value::as_str) {
        Some(id) if !id.trim().is_empty() => escape_label(id),
        _ => format!("#{position}"),
    };
    let mut out = EntryErrors {
        org: label,
        errors,
        count: 0,
        mistyped: Vec::new(),
    };
    let Value::Object(fields) = entry else {
        out.push("org", format!("expected a table, found {}", kind(entry)));
        return None;
    };
    let raw = shape::raw_org(entry, fields, &mut out);

    let id = validate_id(raw.id.as_deref(), position, seen, &mut out);
    let name = validate_name(raw.name.as_deref(), &mut out);
    let account_number = validate_account(raw.account_number.as_deref(), seen, &mut out);
    let registered_numbers = validate_numbers(raw.registered_numbers.as_deref(), seen, &mut out);
    let channels = validate_channels(raw.channels.as_deref(), &mut out);
    let contacts = validate_contacts(raw.contacts.as_ref(), &mut out);
    let language = validate_language(raw.language.as_deref(), &mut out);

    // A channel without its contact could never deliver a PIN. Skipped when
    // the contact was given but invalid: that error is already reported.
    let raw_contacts = raw.contacts.as_ref();
    for channel in &channels {
        let (given, field) = match channel {
            Channel::Email => (
                raw_contacts.is_some_and(|c| c.email.is_some()),
                "contacts.email",
            ),
            Channel::Sms => (
                raw_contacts.is_some_and(|c| c.sms.is_some()),
                "contacts.sms",
            ),
        };
        if !given && !out.was_mistyped("contacts") && !out.was_mistyped(field) {
            out.push(
                field,
                format!("missing, but the {channel} channel requires it"),
            );
        }
    }

    if out.count > 0 {
        return None;
    }
    Some(OrgProfile {
        id: id?,
        name: name?,
        account_number: account_number?,
        registered_numbers,
        channels,
        contacts,
        language,
        severity_a: raw.severity_a.unwrap_or(false),
    })
}

fn validate_id(
    raw: Option<&str>,
    position: usize,
    seen: &mut Seen,
    out: &mut EntryErrors<'_>,
) -> Option<OrgId> {
    let Some(raw) = raw else {
        out.missing("id");
        return None;
    };
    let Ok(id) = OrgId::parse(raw) else {
        out.push(
            "id",
            format!(
                "not a valid org id ({}): use 1 to 64 of a-z, 0-9 and '-', not starting or ending with '-'",
                quote(raw)
            ),
        );
        return None;
    };
    if let Some(first) = seen.ids.get(&id) {
        out.push("id", format!("duplicate id, also used by entry #{first}"));
        return None;
    }
    seen.ids.insert(id.clone(), position);
    Some(id)
}

fn validate_name(raw: Option<&str>, out: &mut EntryErrors<'_>) -> Option<String> {
    let Some(raw) = raw else {
        out.missing("name");
        return None;
    };
    let name = raw.trim();
    if name.is_empty() {
        out.push("name", "must not be empty");
        None
    } else if name.chars().count() > MAX_NAME_CHARS {
        out.push("name", "longer than 200 characters");
        None
    } else if name.chars().any(char::is_control) {
        out.push("name", "contains control characters");
        None
    } else if name.contains(['{', '}']) {
        // Braces mark placeholders in message templates.
        out.push("name", "must not contain braces ({ or })");
        None
    } else {
        Some(name.to_owned())
    }
}

fn validate_account(
    raw: Option<&str>,
    seen: &mut Seen,
    out: &mut EntryErrors<'_>,
) -> Option<String> {
    let Some(raw) = raw else {
        out.missing("account_number");
        return None;
    };
    if !ACCOUNT_DIGITS.contains(&raw.len()) || !raw.bytes().all(|b| b.is_ascii_digit()) {
        out.push(
            "account_number",
            format!("must be 4 to 20 digits ({})", quote(raw)),
        );
        return None;
    }
    if let Some(owner) = seen.accounts.get(raw) {
        out.push(
            "account_number",
            format!("already used by org {owner} in this file"),
        );
        return None;
    }
    seen.accounts.insert(raw.to_owned(), out.org.clone());
    Some(raw.to_owned())
}

fn validate_numbers(
    raw: Option<&[String]>,
    seen: &mut Seen,
    out: &mut EntryErrors<'_>,
) -> Vec<E164> {
    let mut numbers: Vec<E164> = Vec::new();
    for (i, raw) in raw.unwrap_or_default().iter().enumerate() {
        let field = format!("registered_numbers[{i}]");
        match E164::parse(raw) {
            Err(e) => out.push(field, phone_message(raw, e)),
            Ok(number) if numbers.contains(&number) => {
                out.push(field, format!("{number} is listed twice"));
            }
            Ok(number) => {
                if let Some(owner) = seen.numbers.get(&number) {
                    out.push(
                        field,
                        format!("{number} is already registered to org {owner} in this file"),
                    );
                } else {
                    seen.numbers.insert(number.clone(), out.org.clone());
                    numbers.push(number);
                }
            }
        }
    }
    numbers
}

fn validate_channels(raw: Option<&[String]>, out: &mut EntryErrors<'_>) -> Vec<Channel> {
    let Some(raw) = raw else {
        out.missing("channels");
        return Vec::new();
    };
    if raw.is_empty() {
        out.push(
            "channels",
            "must list at least one channel (\"email\", \"sms\")",
        );
    }
    let mut channels: Vec<Channel> = Vec::new();
    for (i, name) in raw.iter().enumerate() {
        let field = format!("channels[{i}]");
        match name.parse::<Channel>() {
            Err(_) => out.push(
                field,
                format!(
                    "unknown channel ({}): expected \"email\" or \"sms\"",
                    quote(name)
                ),
            ),
            Ok(channel) if channels.contains(&channel) => {
                out.push(field, format!("{channel} is listed twice"));
            }
            Ok(channel) => channels.push(channel),
        }
    }
    channels
}

fn validate_contacts(raw: Option<&RawContacts>, out: &mut EntryErrors<'_>) -> Contacts {
    let mut contacts = Contacts::default();
    let Some(raw) = raw else {
        return contacts;
    };
    if let Some(email) = &raw.email {
        match EmailAddress::parse(email) {
            Ok(address) => contacts.email = Some(address),
            Err(e) => out.push(
                "contacts.email",
                format!("not a valid email address ({}): {e}", quote(email)),
            ),
        }
    }
    if let Some(sms) = &raw.sms {
        match E164::parse(sms) {
            Ok(number) => contacts.sms = Some(number),
            Err(e) => out.push("contacts.sms", phone_message(sms, e)),
        }
    }
    contacts
}

fn validate_language(raw: Option<&str>, out: &mut EntryErrors<'_>) -> Option<String> {
    let raw = raw?;
    if is_language_tag(raw) {
        Some(raw.to_owned())
    } else {
        out.push(
            "language",
            format!(
                "not a language tag ({}): use e.g. \"en\" or \"pt-BR\"",
                quote(raw)
            ),
        );
        None
    }
}

/// BCP 47-ish: a 2–3 letter primary language, then subtags of 1–8 letters or
/// digits ("en", "pt-BR", "zh-Hant-TW"). Full RFC 5646 validation buys
/// nothing here; the tag only picks a message template.
pub(super) fn is_language_tag(tag: &str) -> bool {
    if tag.len() > MAX_LANGUAGE_LEN {
        return false;
    }
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `not a valid E.164 number ("+1415")`, plus the reason when it is one the
/// administrator could not guess.
fn phone_message(raw: &str, error: PhoneError) -> String {
    let base = format!("not a valid E.164 number ({})", quote(raw));
    match error {
        PhoneError::MissingPlus
        | PhoneError::InvalidCharacter
        | PhoneError::TooLong
        | PhoneError::WithheldSentinel => format!("{base}: {error}"),
        PhoneError::Empty | PhoneError::Unparseable | PhoneError::Invalid => base,
    }
}

/// Quotes a raw value for an error message: escaped, so a newline or
/// terminal escape in a file cannot forge extra report lines, and shortened.
fn quote(raw: &str) -> String {
    let shortened: String = raw.chars().take(MAX_QUOTED_CHARS).collect();
    if shortened.len() < raw.len() {
        format!("{shortened:?}…")
    } else {
        format!("{shortened:?}")
    }
}

/// An id or key as written, escaped and shortened but without quotes.
fn escape_label(raw: &str) -> String {
    let escaped: String = raw
        .chars()
        .take(MAX_QUOTED_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if raw.chars().count() > MAX_QUOTED_CHARS {
        format!("{escaped}…")
    } else {
        escaped
    }
}
