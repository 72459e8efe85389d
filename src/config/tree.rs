//! The configuration as read, before typing: a tree of values, each
//! remembering where it came from (a file and line, or an environment
//! variable), so a problem can be reported where the operator can fix it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::problem::Problem;

/// Where a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of a configuration file (`None` when the format has no lines
    /// to report, as for JSON).
    File { path: PathBuf, line: Option<usize> },
    /// An environment variable, e.g. `PINGATE__PIN__LENGTH`.
    Env { var: String },
}

/// A value as written. Environment variables stay text until the key they
/// set says what type it wants (`+15005550006` is a phone number for
/// `twilio.sms_from`, `8` a number for `pin.length`).
#[derive(Debug, Clone)]
pub enum Raw {
    Text(String),
    EnvText(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    /// A date or time (TOML has them; no pingate key takes one).
    Datetime(String),
    List(Vec<Node>),
    Table(BTreeMap<String, Node>),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub raw: Raw,
    pub origin: Option<Origin>,
}

impl Node {
    pub fn empty_table() -> Node {
        Node {
            raw: Raw::Table(BTreeMap::new()),
            origin: None,
        }
    }

    /// Where the value of `key` (or the nearest enclosing table) was written.
    pub fn origin_of(&self, key: &str) -> Option<&Origin> {
        let mut node = self;
        let mut origin = self.origin.as_ref();
        for part in key.split('.') {
            match &node.raw {
                Raw::Table(t) => match t.get(part) {
                    Some(child) => {
                        node = child;
                        origin = child.origin.as_ref().or(origin);
                    }
                    None => break,
                },
                _ => break,
            }
        }
        origin
    }

    /// Removes `key`, so the default applies; false when it was not there.
    pub fn remove(&mut self, key: &str) -> bool {
        let (parent, last) = match key.rsplit_once('.') {
            Some((parent, last)) => (Some(parent), last),
            None => (None, key),
        };
        let mut node = self;
        for part in parent.into_iter().flat_map(|p| p.split('.')) {
            node = match &mut node.raw {
                Raw::Table(t) => match t.get_mut(part) {
                    Some(child) => child,
                    None => return false,
                },
                _ => return false,
            };
        }
        match &mut node.raw {
            Raw::Table(t) => t.remove(last).is_some(),
            _ => false,
        }
    }

    /// Sets `path` to `value`, creating tables on the way (an environment
    /// variable overrides whatever the file said there).
    pub fn set(&mut self, path: &[String], value: Node) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut node = self;
        for part in parents {
            if !matches!(node.raw, Raw::Table(_)) {
                *node = Node::empty_table();
            }
            let Raw::Table(t) = &mut node.raw else {
                return;
            };
            node = t.entry(part.clone()).or_insert_with(Node::empty_table);
        }
        if !matches!(node.raw, Raw::Table(_)) {
            *node = Node::empty_table();
        }
        if let Raw::Table(t) = &mut node.raw {
            t.insert(last.clone(), value);
        }
    }
}

/// Parses a TOML file's text; a syntax error names the file and line.
pub fn from_toml(text: &str, path: &Path) -> Result<Node, Problem> {
    let doc = toml_edit::ImDocument::parse(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        Problem::syntax(
            format!(
                "is not valid TOML: {}",
                e.message().trim().lines().collect::<Vec<_>>().join("; ")
            ),
            Origin::File {
                path: path.to_path_buf(),
                line,
            },
        )
    })?;
    let lines = Lines { text, path };
    Ok(lines.table(doc.as_table(), None))
}

/// Parses a JSON file's text (no line numbers are kept).
pub fn from_json(text: &str, path: &Path) -> Result<Node, Problem> {
    let origin = Origin::File {
        path: path.to_path_buf(),
        line: None,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Problem::syntax(
            "is not valid JSON".to_string(),
            Origin::File {
                path: path.to_path_buf(),
                line: Some(e.line()),
            },
        )
    })?;
    Ok(json_node(value, &origin))
}

fn json_node(value: serde_json::Value, origin: &Origin) -> Node {
    use serde_json::Value;
    let raw = match value {
        Value::Null => Raw::Table(BTreeMap::new()),
        Value::Bool(b) => Raw::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Raw::Integer(i),
            None => Raw::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Raw::Text(s),
        Value::Array(items) => Raw::List(items.into_iter().map(|v| json_node(v, origin)).collect()),
        Value::Object(map) => Raw::Table(
            map.into_iter()
                .map(|(k, v)| (k, json_node(v, origin)))
                .collect(),
        ),
    };
    Node {
        raw,
        origin: Some(origin.clone()),
    }
}

/// Sets every `PINGATE__SECTION__KEY` variable into the tree, as text.
/// Keys are lower-cased (`PINGATE__PIN__LENGTH` sets `pin.length`).
pub fn merge_env(tree: &mut Node, vars: impl IntoIterator<Item = (String, String)>) {
    for (var, value) in vars {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest
            .split("__")
            .filter(|p| !p.is_empty())
            .map(str::to_lowercase)
            .collect();
        if path.is_empty() {
            continue;
        }
        let node = Node {
            raw: Raw::EnvText(value),
            origin: Some(Origin::Env { var: var.clone() }),
        };
        tree.set(&path, node);
    }
}

/// The prefix of variables that override configuration keys.
pub const ENV_PREFIX: &str = "PINGATE__";

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Converts toml_edit items, noting each key's line.
struct Lines<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Lines<'_> {
    fn origin(&self, span: Option<std::ops::Range<usize>>) -> Option<Origin> {
        Some(Origin::File {
            path: self.path.to_path_buf(),
            line: span.map(|s| line_of(self.text, s.start)),
        })
    }

    fn table(&self, table: &toml_edit::Table, origin: Option<Origin>) -> Node {
        let mut out = BTreeMap::new();
        for (name, item) in table.iter() {
            let key_span = table.get_key_value(name).and_then(|(k, _)| k.span());
            if let Some(node) = self.item(item, key_span) {
                out.insert(name.to_string(), node);
            }
        }
        Node {
            raw: Raw::Table(out),
            origin,
        }
    }

    fn item(
        &self,
        item: &toml_edit::Item,
        key_span: Option<std::ops::Range<usize>>,
    ) -> Option<Node> {
        let span = key_span.or_else(|| item.span());
        match item {
            toml_edit::Item::None => None,
            toml_edit::Item::Value(v) => Some(self.value(v, span)),
            toml_edit::Item::Table(t) => Some(self.table(t, self.origin(t.span().or(span)))),
            toml_edit::Item::ArrayOfTables(a) => Some(Node {
                raw: Raw::List(
                    a.iter()
                        .map(|t| self.table(t, self.origin(t.span())))
                        .collect(),
                ),
                origin: self.origin(span),
            }),
        }
    }

    fn value(&self, value: &toml_edit::Value, span: Option<std::ops::Range<usize>>) -> Node {
        use toml_edit::Value;
        let raw = match value {
            Value::String(s) => Raw::Text(s.value().clone()),
            Value::Integer(i) => Raw::Integer(*i.value()),
            Value::Float(f) => Raw::Float(*f.value()),
            Value::Boolean(b) => Raw::Bool(*b.value()),
            Value::Datetime(d) => Raw::Datetime(d.value().to_string()),
            Value::Array(a) => Raw::List(a.iter().map(|v| self.value(v, v.span())).collect()),
            Value::InlineTable(t) => {
                let mut out = BTreeMap::new();
                for (name, v) in t.iter() {
                    let key_span = t.key(name).and_then(|k| k.span());
                    out.insert(name.to_string(), self.value(v, key_span.or(v.span())));
                }
                Raw::Table(out)
            }
        };
        Node {
            raw,
            origin: self.origin(span.or_else(|| value.span())),
        }
    }
}
