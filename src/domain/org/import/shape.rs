//! The shape of one import entry: the raw serde form (strings only, every
//! field optional), and when an entry does not fit it, a precise error per
//! field (unknown, or of the wrong type) with the well-typed rest kept, so
//! the rules in `import` still report their mistakes in the same round.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{EntryErrors, escape_label};

/// The first stage of an entry: strings only, every field optional, so a
/// missing field becomes a precise error instead of a serde message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrg {
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) account_number: Option<String>,
    pub(super) registered_numbers: Option<Vec<String>>,
    pub(super) channels: Option<Vec<String>>,
    pub(super) contacts: Option<RawContacts>,
    pub(super) language: Option<String>,
    pub(super) severity_a: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContacts {
    pub(super) email: Option<String>,
    pub(super) sms: Option<String>,
}

const STRING_FIELDS: [&str; 4] = ["id", "name", "account_number", "language"];
const LIST_FIELDS: [&str; 2] = ["registered_numbers", "channels"];
const CONTACT_FIELDS: [&str; 2] = ["email", "sms"];

/// The entry as `RawOrg`: as written when it fits, else its well-typed
/// fields, with every shape mistake reported in `out`.
pub(super) fn raw_org(
    entry: &Value,
    fields: &Map<String, Value>,
    out: &mut EntryErrors<'_>,
) -> RawOrg {
    match RawOrg::deserialize(entry) {
        Ok(raw) => raw,
        Err(e) => {
            diagnose_shape(fields, out);
            if out.count == 0 {
                // Unreachable in practice: diagnose_shape mirrors RawOrg.
                out.push("org", e.to_string());
            }
            // Keep going with the well-typed fields so the rules below
            // report their mistakes in this same round.
            lenient_raw(fields)
        }
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

pub(super) fn kind(value: &Value) -> &'static str {
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
