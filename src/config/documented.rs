//! The shipped `config/pingate.toml` documents every key with its default:
//! its commented key lines, uncommented, must parse, must name every key
//! of `Settings::default()`, and must give each its default value. A key
//! added to the settings without a line in the file fails here, saying
//! exactly what line to add.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::de::NodeDe;
use super::{DEFAULT_CONFIG_PATH, Settings, tree};

/// The file with every commented key line and table header made live;
/// prose comments stay comments.
fn uncommented(text: &str) -> String {
    text.lines()
        .map(|line| match line.trim_start().strip_prefix('#') {
            Some(rest) if looks_like_toml(rest.trim()) => rest.trim().to_string(),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `key = value` or `[table]`, as opposed to a sentence.
fn looks_like_toml(s: &str) -> bool {
    if s.starts_with('[') && s.ends_with(']') && !s.contains(' ') {
        return true;
    }
    s.split_once(" = ").is_some_and(|(key, _)| {
        !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// `"text"`, `8`, `["US", "CA"]`: a default as it should appear in the file.
fn as_toml(v: &Value) -> String {
    match v {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(as_toml).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(_) => "{ ... }".into(),
        other => other.to_string(),
    }
}

/// Every leaf key of the defaults with its value, e.g. (`pin.length`, 6).
/// An empty table is an open map (named, but its keys are the operator's).
fn leaves(v: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(child, &key, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// What to add for a key the file lacks.
fn missing_line(key: &str, default: &Value) -> String {
    let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
    let value = match default {
        Value::Null => "\"...\"   (no default: a commented example value)".to_string(),
        other => as_toml(other),
    };
    format!(
        "{key}: add under [{section}] in {DEFAULT_CONFIG_PATH}, with a comment above it saying what it does:\n  # {name} = {value}"
    )
}

#[test]
fn the_shipped_file_documents_every_key_with_its_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH);
    let text = std::fs::read_to_string(&path).expect("read the shipped configuration");
    let live = uncommented(&text);
    let tree = tree::from_toml(&live, &path)
        .unwrap_or_else(|p| panic!("uncommented, the file is not valid TOML: {p}"));
    let documented = Settings::deserialize(NodeDe::root(&tree)).unwrap_or_else(|e| {
        panic!(
            "uncommented, the file names a key pingate lacks or a bad value: {}",
            e.into_problem()
        )
    });
    let documented = serde_json::to_value(&documented).expect("settings serialise");
    let defaults = serde_json::to_value(Settings::default()).expect("settings serialise");
    let mut keys = Vec::new();
    leaves(&defaults, "", &mut keys);
    assert!(keys.len() >= 60, "only {} keys found", keys.len());
    let mut problems = Vec::new();
    for (key, default) in &keys {
        if !named(&tree, key) {
            problems.push(missing_line(key, default));
            continue;
        }
        let written = key
            .split('.')
            .try_fold(&documented, |v, part| v.get(part))
            .cloned()
            .unwrap_or(Value::Null);
        // A key without a default is shown with an example value, and an
        // open map with example entries.
        let open_map = default.as_object().is_some_and(|m| m.is_empty());
        if !default.is_null() && !open_map && &written != default {
            problems.push(format!(
                "{key}: the file shows {}, but the default is {}; write `# {} = {}`",
                as_toml(&written),
                as_toml(default),
                key.rsplit('.').next().unwrap_or(key),
                as_toml(default)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{DEFAULT_CONFIG_PATH} does not document every key with its default:\n{}",
        problems.join("\n")
    );
}

/// Whether the key itself (not only its section) is written in the file.
fn named(tree: &tree::Node, key: &str) -> bool {
    key.split('.')
        .try_fold(tree, |node, part| match &node.raw {
            tree::Raw::Table(t) => t.get(part),
            _ => None,
        })
        .is_some()
}

#[test]
fn uncommenting_keeps_prose_as_comments() {
    let text =
        "# Address to bind.\n# listen = \"x\"\n# [twilio.webhook_keys]\n# e.g. a = b, or so\n";
    assert_eq!(
        uncommented(text),
        "# Address to bind.\nlisten = \"x\"\n[twilio.webhook_keys]\n# e.g. a = b, or so"
    );
}
