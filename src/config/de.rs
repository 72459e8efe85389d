//! Types the configuration tree into `Settings` with serde, speaking the
//! operator's words: each key asks for the type it needs (so text from an
//! environment variable becomes a number only where a number is wanted),
//! and every refusal names the key in the problem's own terms, never a
//! Rust type or serde's phrasing.

use std::collections::btree_map;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::problem::{Problem, ProblemKind, closest};
use super::tree::{Node, Origin, Raw};

/// A refusal while typing; it gets the key and origin of the innermost
/// value it happened at.
#[derive(Debug)]
pub struct DeError {
    key: Option<String>,
    origin: Option<Origin>,
    kind: ProblemKind,
}

impl DeError {
    fn at(mut self, key: &str, origin: Option<&Origin>) -> DeError {
        if self.key.is_none() {
            self.key = Some(key.to_string());
            self.origin = origin.cloned();
        }
        self
    }

    fn unknown(key: String, origin: Option<&Origin>, suggestion: Option<String>) -> DeError {
        DeError {
            key: Some(key),
            origin: origin.cloned(),
            kind: ProblemKind::UnknownKey { suggestion },
        }
    }

    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    pub fn into_problem(self) -> Problem {
        Problem {
            key: self.key.unwrap_or_default(),
            kind: self.kind,
            origin: self.origin,
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ProblemKind::Value(m) | ProblemKind::Syntax(m) => f.write_str(m),
            ProblemKind::UnknownKey { .. } => f.write_str("unknown key"),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let msg = msg.to_string();
        // serde's untagged enums say "data did not match any variant of
        // untagged enum TypeName": the type is no business of the operator.
        let msg = if msg.contains("untagged enum") {
            "has the wrong kind of value (see config/pingate.toml for its form)".to_string()
        } else {
            msg
        };
        DeError {
            key: None,
            origin: None,
            kind: ProblemKind::Value(msg),
        }
    }

    // serde's own phrasings name Rust types; these stand in for them.
    fn invalid_type(unexp: de::Unexpected<'_>, _exp: &dyn de::Expected) -> Self {
        de::Error::custom(format!(
            "has the wrong kind of value ({})",
            unexpected(&unexp)
        ))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, _exp: &dyn de::Expected) -> Self {
        de::Error::custom(format!("cannot be {}", unexpected(&unexp)))
    }

    fn invalid_length(len: usize, _exp: &dyn de::Expected) -> Self {
        de::Error::custom(format!("has the wrong number of items ({len})"))
    }
}

fn unexpected(u: &de::Unexpected<'_>) -> String {
    use de::Unexpected as U;
    match u {
        U::Bool(b) => b.to_string(),
        U::Unsigned(n) => n.to_string(),
        U::Signed(n) => n.to_string(),
        U::Float(n) => n.to_string(),
        U::Str(s) => format!("{s:?}"),
        U::Seq => "a list".into(),
        U::Map => "a table".into(),
        _ => "a value of another kind".into(),
    }
}

/// How a value is described back to the operator ("got ...").
fn shown(raw: &Raw) -> String {
    match raw {
        Raw::Text(s) | Raw::EnvText(s) => format!("{s:?}"),
        Raw::Integer(i) => i.to_string(),
        Raw::Float(x) => x.to_string(),
        Raw::Bool(b) => b.to_string(),
        Raw::Datetime(d) => format!("the date {d}"),
        Raw::List(_) => "a list".into(),
        Raw::Table(_) => "a table".into(),
    }
}

/// A node being typed at `key`.
pub struct NodeDe<'a> {
    node: &'a Node,
    key: String,
}

impl<'a> NodeDe<'a> {
    pub fn root(node: &'a Node) -> NodeDe<'a> {
        NodeDe {
            node,
            key: String::new(),
        }
    }

    fn refuse(&self, wanted: &str) -> DeError {
        de::Error::custom(format!("must be {wanted}, got {}", shown(&self.node.raw)))
    }

    fn child(&self, name: &str, node: &'a Node) -> NodeDe<'a> {
        let key = if self.key.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.key)
        };
        NodeDe { node, key }
    }

    fn whole_number<T: TryFrom<i64>>(&self) -> Result<T, DeError> {
        let n = match &self.node.raw {
            Raw::Integer(i) => *i,
            Raw::EnvText(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| self.refuse("a whole number"))?,
            _ => return Err(self.refuse("a whole number")),
        };
        T::try_from(n).map_err(|_| {
            if n < 0 {
                self.refuse("a whole number, not negative")
            } else {
                self.refuse("a smaller whole number")
            }
        })
    }

    fn text(&self) -> Result<&'a str, DeError> {
        match &self.node.raw {
            Raw::Text(s) | Raw::EnvText(s) => Ok(s),
            _ => Err(self.refuse("text (in quotes)")),
        }
    }

    /// A list; from the environment either TOML (`["US", "GB"]`) or words
    /// separated by commas (`US,GB`).
    fn list(&self) -> Result<Vec<Node>, DeError> {
        match &self.node.raw {
            Raw::List(items) => Ok(items.clone()),
            Raw::EnvText(s) => Ok(env_list(s, self.node.origin.as_ref())),
            _ => Err(self.refuse("a list")),
        }
    }

    fn wrap<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| e.at(&self.key, self.node.origin.as_ref()))
    }
}

fn env_list(text: &str, origin: Option<&Origin>) -> Vec<Node> {
    let text = text.trim();
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    inner
        .split(',')
        .map(|part| part.trim().trim_matches('"').trim_matches('\'').to_string())
        .filter(|part| !part.is_empty())
        .map(|part| Node {
            raw: Raw::EnvText(part),
            origin: origin.cloned(),
        })
        .collect()
}

macro_rules! whole_numbers {
    ($($method:ident => $visit:ident : $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let n: Result<$ty, DeError> = self.whole_number();
            let r = n.and_then(|n| visitor.$visit(n));
            self.wrap(r)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.raw {
            Raw::Text(s) | Raw::EnvText(s) | Raw::Datetime(s) => visitor.visit_str(s),
            Raw::Integer(i) => visitor.visit_i64(*i),
            Raw::Float(x) => visitor.visit_f64(*x),
            Raw::Bool(b) => visitor.visit_bool(*b),
            Raw::List(_) => return self.deserialize_seq(visitor),
            Raw::Table(_) => return self.deserialize_map(visitor),
        };
        self.wrap(r)
    }

    whole_numbers! {
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let x = match &self.node.raw {
            Raw::Float(x) => Ok(*x),
            Raw::Integer(i) => Ok(*i as f64),
            Raw::EnvText(s) => s.trim().parse().map_err(|_| self.refuse("a number")),
            _ => Err(self.refuse("a number")),
        };
        let r = x.and_then(|x| visitor.visit_f64(x));
        self.wrap(r)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let b = match &self.node.raw {
            Raw::Bool(b) => Ok(*b),
            Raw::EnvText(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(self.refuse("true or false")),
            },
            _ => Err(self.refuse("true or false")),
        };
        let r = b.and_then(|b| visitor.visit_bool(b));
        self.wrap(r)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = self.text().and_then(|s| visitor.visit_str(s));
        self.wrap(r)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items = match self.list() {
            Ok(items) => items,
            Err(e) => return self.wrap(Err(e)),
        };
        // An item's problem is the list's: the whole list is reported.
        let seq = Seq {
            items: items.iter(),
            key: &self.key,
        };
        let r = visitor.visit_seq(seq);
        self.wrap(r)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let Raw::Table(table) = &self.node.raw else {
            return self.wrap(Err(self.refuse("a table")));
        };
        let r = visitor.visit_map(Map {
            entries: table.iter(),
            parent: &self,
            pending: None,
        });
        self.wrap(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let Raw::Table(table) = &self.node.raw else {
            return self.wrap(Err(self.refuse("a table (a [section])")));
        };
        if let Some((name, node)) = table.iter().find(|(k, _)| !fields.contains(&k.as_str())) {
            let key = self.child(name, node).key;
            let suggestion = closest(name, fields.iter().copied()).map(|s| match &self.key {
                parent if parent.is_empty() => s.to_string(),
                parent => format!("{parent}.{s}"),
            });
            return Err(DeError::unknown(key, node.origin.as_ref(), suggestion));
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let choices = one_of(variants);
        let r = match &self.node.raw {
            Raw::Text(s) | Raw::EnvText(s) if variants.contains(&s.as_str()) => {
                visitor.visit_enum(s.as_str().into_deserializer())
            }
            _ => Err(self.refuse(&choices)),
        };
        self.wrap(r)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i128 u128 bytes byte_buf unit unit_struct tuple tuple_struct
    }
}

/// `"smtp" or "file"`, `"a", "b" or "c"`.
fn one_of(variants: &[&str]) -> String {
    let quoted: Vec<String> = variants.iter().map(|v| format!("{v:?}")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "nothing".into(),
    }
}

struct Seq<'a, 'k> {
    items: std::slice::Iter<'a, Node>,
    key: &'k str,
}

impl<'de> de::SeqAccess<'de> for Seq<'_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some(node) => seed
                .deserialize(NodeDe {
                    node,
                    key: self.key.to_string(),
                })
                .map(Some),
        }
    }
}

struct Map<'a, 'p> {
    entries: btree_map::Iter<'a, String, Node>,
    parent: &'p NodeDe<'a>,
    pending: Option<(&'a String, &'a Node)>,
}

impl<'de> de::MapAccess<'de> for Map<'_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            None => Ok(None),
            Some((name, node)) => {
                self.pending = Some((name, node));
                seed.deserialize(name.as_str().into_deserializer())
                    .map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.pending.take() {
            Some((name, node)) => seed.deserialize(self.parent.child(name, node)),
            None => Err(de::Error::custom("a value without a key")),
        }
    }
}
