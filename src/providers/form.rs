//! `application/x-www-form-urlencoded` webhook bodies (every provider that
//! posts forms): a strict decoder shared with signature checking, and
//! a form that refuses differing repeats of a single-valued field.

/// Why a webhook body could not be turned into a payload. Messages name the
/// field but never echo its value: values are caller numbers and names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the form body is not valid UTF-8 once decoded")]
    Malformed,
    #[error("required field {0} is missing")]
    Missing(&'static str),
    #[error("field {0} has an invalid value")]
    Invalid(&'static str),
    #[error("field {0} is repeated with different values")]
    Repeated(&'static str),
}

/// Decodes a form body into its (key, value) pairs, in body order, keeping
/// repeated keys.
///
/// This follows the WHATWG `application/x-www-form-urlencoded` parser (the
/// one `serde_urlencoded` uses: `+` is a space, a `%` not followed by two hex
/// digits stays literal, empty segments are skipped) except that invalid
/// UTF-8 is an error instead of being replaced by U+FFFD. Providers only
/// send UTF-8; a lossy decode would make distinct bodies look identical, and the
/// signature check and the handlers must read exactly the same values.
pub fn decode_pairs(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut pairs = Vec::new();
    for segment in body.split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (key, value) = match segment.iter().position(|&b| b == b'=') {
            Some(at) => (&segment[..at], &segment[at + 1..]),
            None => (segment, &segment[segment.len()..]),
        };
        pairs.push((decode_component(key)?, decode_component(value)?));
    }
    Ok(pairs)
}

fn decode_component(raw: &[u8]) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let high = raw.get(i + 1).copied().and_then(hex_value);
                let low = raw.get(i + 2).copied().and_then(hex_value);
                if let (Some(high), Some(low)) = (high, low) {
                    out.push(high << 4 | low);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::Malformed)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A decoded form body. Keeps every pair in body order, repeated keys
/// included, so nothing the signature covered is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses a raw `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        Ok(Self {
            pairs: decode_pairs(body)?,
        })
    }

    /// The first value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_all(key).next()
    }

    /// Every value of `key`, in body order.
    pub fn get_all<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All pairs in body order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The one value of a single-valued field. The signature covers the *set*
    /// of a key's values, not their order, so "the first of several" is not
    /// something the provider vouched for: differing repeats are refused.
    pub fn single(&self, key: &'static str) -> Result<Option<&str>, FormError> {
        let mut values = self.get_all(key);
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.any(|v| v != first) {
            return Err(FormError::Repeated(key));
        }
        Ok(Some(first))
    }

    pub fn required(&self, key: &'static str) -> Result<&str, FormError> {
        self.single(key)?.ok_or(FormError::Missing(key))
    }

    /// An optional field; an empty value means "not given" (e.g. `CallerName=`
    /// when the provider has no CNAM data).
    pub fn optional(&self, key: &'static str) -> Result<Option<String>, FormError> {
        Ok(self
            .single(key)?
            .filter(|v| !v.is_empty())
            .map(str::to_owned))
    }
}
