//! Import validation: raw serde shapes first, then every rule on every
//! entry, with each mistake reported by org and field path. Nothing is
//! returned unless the whole file is valid.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Channel, Contacts, ImportError, ImportErrors, ImportFormat, OrgId, OrgProfile};
use crate::domain::email::EmailAddress;
use crate::domain::phone::{E164, PhoneError};

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
    match validate_entry(1, value, &mut Seen::default(), &mut errors) {
        Some(profile) if errors.is_empty() => Ok(profile),
        _ => Err(ImportErrors { errors }),
    }
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
fn line_column(text: &str, offset: usize) -> (usize, usize) {
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

/// The first stage of an entry: strings only, every field optional, so a
/// missing field becomes a precise error instead of a serde message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrg {
    id: Option<String>,
    name: Option<String>,
    account_number: Option<String>,
    registered_numbers: Option<Vec<String>>,
    channels: Option<Vec<String>>,
    contacts: Option<RawContacts>,
    language: Option<String>,
    severity_a: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContacts {
    email: Option<String>,
    sms: Option<String>,
}

const STRING_FIELDS: [&str; 4] = ["id", "name", "account_number", "language"];
const LIST_FIELDS: [&str; 2] = ["registered_numbers", "channels"];
const CONTACT_FIELDS: [&str; 2] = ["email", "sms"];

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
    let raw = match RawOrg::deserialize(entry) {
        Ok(raw) => raw,
        Err(e) => {
            diagnose_shape(fields, &mut out);
            if out.count == 0 {
                // Unreachable in practice: diagnose_shape mirrors RawOrg.
                out.push("org", e.to_string());
            }
            // Keep going with the well-typed fields so the rules below
            // report their mistakes in this same round.
            lenient_raw(fields)
        }
    };

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

/// Explains why an entry did not fit `RawOrg`: unknown fields and values of
/// the wrong type, each with its own field path.
fn diagnose_shape(fields: &Map<String, Value>, out: &mut EntryErrors<'_>) {
    // Sorted so the report does not depend on serde_json's map flavour
    // (`preserve_order` may be switched on by another crate in the build).
    let mut keys: Vec<&String> = fields.keys().collect();
    keys.sort();
    for key in keys {
        let Some(value) = fields.get(key) else {
            continue;
        };
        let key_str = key.as_str();
        if STRING_FIELDS.contains(&key_str) {
            if !value.is_string() && !value.is_null() {
                out.mistyped(key_str, expected_string(value));
            }
        } else if LIST_FIELDS.contains(&key_str) {
            match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if !item.is_string() {
                            out.push(format!("{key_str}[{i}]"), expected_string(item));
                        }
                    }
                    // lenient_raw drops such a list whole, keeping indices honest.
                    if items.iter().any(|item| !item.is_string()) {
                        out.mistyped.push(key_str.to_owned());
                    }
                }
                Value::Null => {}
                other => out.mistyped(
                    key_str,
                    format!("expected a list of strings, found {}", kind(other)),
                ),
            }
        } else if key_str == "severity_a" {
            if !value.is_boolean() && !value.is_null() {
                out.mistyped(
                    key_str,
                    format!("expected true or false, found {}", kind(value)),
                );
            }
        } else if key_str == "contacts" {
            match value {
                Value::Object(contacts) => {
                    let mut names: Vec<(&String, &Value)> = contacts.iter().collect();
                    names.sort_by_key(|(name, _)| *name);
                    for (name, contact) in names {
                        let field = format!("contacts.{}", escape_label(name));
                        if !CONTACT_FIELDS.contains(&name.as_str()) {
                            out.push(field, "unknown field (expected \"email\" or \"sms\")");
                        } else if !contact.is_string() && !contact.is_null() {
                            out.mistyped(&field, expected_string(contact));
                        }
                    }
                }
                Value::Null => {}
                other => out.mistyped(
                    "contacts",
                    format!("expected a table, found {}", kind(other)),
                ),
            }
        } else {
            out.push(escape_label(key_str), "unknown field");
        }
    }
}

/// `RawOrg` built from the well-typed fields only (the others are reported
/// by `diagnose_shape`). A list with any non-string item is dropped whole,
/// so positions in later messages still match the file.
fn lenient_raw(fields: &Map<String, Value>) -> RawOrg {
    let string = |map: &Map<String, Value>, key: &str| {
        map.get(key).and_then(Value::as_str).map(str::to_owned)
    };
    let list = |key: &str| -> Option<Vec<String>> {
        fields
            .get(key)?
            .as_array()?
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect()
    };
    RawOrg {
        id: string(fields, "id"),
        name: string(fields, "name"),
        account_number: string(fields, "account_number"),
        registered_numbers: list("registered_numbers"),
        channels: list("channels"),
        contacts: fields
            .get("contacts")
            .and_then(Value::as_object)
            .map(|contacts| RawContacts {
                email: string(contacts, "email"),
                sms: string(contacts, "sms"),
            }),
        language: string(fields, "language"),
        severity_a: fields.get("severity_a").and_then(Value::as_bool),
    }
}

fn expected_string(value: &Value) -> String {
    match value {
        // TOML users write account numbers bare; a number would lose its
        // leading zeros, so ask for quotes rather than converting.
        Value::Number(n) => format!(
            "expected a string, found {} (quote it: \"{n}\")",
            kind(value)
        ),
        other => format!("expected a string, found {}", kind(other)),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        // toml's datetime arrives as a one-key object.
        Value::Object(map) if map.contains_key("$__toml_private_datetime") => "a date-time",
        Value::Object(_) => "a table",
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
