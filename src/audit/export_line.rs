//! Reading one line of a JSONL export back into an event, for offline
//! verification. Strict on purpose: a key the export never writes, or a
//! key written twice, is refused rather than silently dropped or overridden.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::event::Event;

/// The keys `Event::to_json` writes, and nothing else.
const KEYS: [&str; 12] = [
    "seq",
    "at",
    "kind",
    "actor",
    "org_id",
    "call_id",
    "challenge_id",
    "grant_id",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
];

/// Parses one export line into an event, refusing what an export never
/// contains.
pub fn parse(line: &str) -> Result<Event, String> {
    let mut de = serde_json::Deserializer::from_str(line);
    let value = StrictValue
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| format!("not JSON as exported: {e}"))?;
    if let Value::Object(fields) = &value
        && let Some(unknown) = fields.keys().find(|k| !KEYS.contains(&k.as_str()))
    {
        return Err(format!("unknown field {}", Value::String(unknown.clone())));
    }
    Event::from_json(&value)
}

/// Builds a `serde_json::Value` like its own `Deserialize` does, except that
/// an object naming a key twice is an error (serde_json keeps the last).
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if fields.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {}",
                    Value::String(key)
                )));
            }
            let value = map.next_value_seed(StrictValue)?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::{EventKind, GENESIS, NewEvent, Outcome};

    fn exported() -> String {
        let e = NewEvent::new(
            EventKind::CallReceived,
            "provider:example",
            Outcome::Success,
        )
        .call("call_1")
        .detail("caller", "p:abc");
        Event::from_new(1, 1_700_000_000_000, GENESIS, e)
            .to_json()
            .to_string()
    }

    #[test]
    fn an_exported_line_reads_back_as_the_same_event() {
        let line = exported();
        let e = parse(&line).expect("valid line");
        assert_eq!(e.to_json().to_string(), line);
    }

    #[test]
    fn an_unknown_top_level_key_is_refused() {
        let line = exported().replacen('{', r#"{"note":"harmless?","#, 1);
        let err = parse(&line).expect_err("unknown key");
        assert!(err.contains("note"), "{err}");
    }

    #[test]
    fn a_duplicate_key_in_detail_is_refused() {
        let line = exported().replace(
            r#""detail":{"caller":"p:abc"}"#,
            r#""detail":{"caller":"p:abc","caller":"p:xyz"}"#,
        );
        assert!(line.contains(r#""caller":"p:xyz""#));
        let err = parse(&line).expect_err("duplicate key");
        assert!(err.contains("caller"), "{err}");
    }

    #[test]
    fn a_duplicate_key_at_any_depth_or_at_the_top_is_refused() {
        let nested = exported().replace(
            r#""detail":{"caller":"p:abc"}"#,
            r#""detail":{"x":{"k":1,"k":2}}"#,
        );
        assert!(parse(&nested).is_err());
        let top = exported().replacen('{', r#"{"seq":1,"#, 1);
        assert!(parse(&top).is_err());
    }
}
