//! Value types that configuration keys are read into.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// A secret read from configuration: text, kept as written.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(SecretString::from(s))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Only the shape of a configuration is ever serialised (to know its
/// keys), never a secret.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SecretVisitor)
    }
}

/// Takes text as it is, and a number's digits (a TOML `auth_token = 12345`).
struct SecretVisitor;

impl serde::de::Visitor<'_> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Secret, E> {
        Ok(Secret::from(s))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Secret, E> {
        Ok(Secret(n.to_string().into()))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Secret, E> {
        Ok(Secret(n.to_string().into()))
    }
}

/// A duration written as `500ms`, `30s`, `10m`, `2h` or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("must be a duration like 500ms, 30s, 10m or 2h, got {s:?}"))?;
        let d = match unit.trim() {
            "ms" => Duration::from_millis(n),
            "" | "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            other => {
                return Err(format!(
                    "must be a duration like 500ms, 30s, 10m or 2h, got {s:?} (unknown unit {other:?}; use ms, s, m, h or d)"
                ));
            }
        };
        Ok(HumanDuration(d))
    }
}

/// Written back in the largest unit that is exact (`600s` as `"10m"`), as
/// an operator would write it.
impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ms = self.0.as_millis();
        let text = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1000, "s"),
        ]
        .into_iter()
        .find(|(unit, _)| ms > 0 && ms.is_multiple_of(*unit))
        .map_or(format!("{ms}ms"), |(unit, name)| {
            format!("{}{name}", ms / unit)
        });
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

/// `"30s"`, `"10m"`, or a whole number of seconds.
struct DurationVisitor;

impl serde::de::Visitor<'_> for DurationVisitor {
    type Value = HumanDuration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration like 30s, 10m or 2h")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<HumanDuration, E> {
        HumanDuration::parse(s).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<HumanDuration, E> {
        Ok(HumanDuration(Duration::from_secs(n)))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<HumanDuration, E> {
        u64::try_from(n)
            .map(|n| HumanDuration(Duration::from_secs(n)))
            .map_err(|_| E::custom(format!("must be a duration like 30s, 10m or 2h, got {n}")))
    }

    fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<HumanDuration, E> {
        Err(E::custom(format!(
            "must be a duration like 500ms, 30s, 10m or 2h, got {x}"
        )))
    }
}
