//! Twilio's `application/x-www-form-urlencoded` webhook bodies: a strict
//! decoder shared with signature checking, and the typed payloads pingate
//! reads from voice, gather, status and message-status webhooks.

use std::fmt;

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
/// UTF-8 is an error instead of being replaced by U+FFFD. Twilio only sends
/// UTF-8; a lossy decode would make distinct bodies look identical, and the
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
    /// something Twilio vouched for: differing repeats are refused.
    fn single(&self, key: &'static str) -> Result<Option<&str>, FormError> {
        let mut values = self.get_all(key);
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.any(|v| v != first) {
            return Err(FormError::Repeated(key));
        }
        Ok(Some(first))
    }

    fn required(&self, key: &'static str) -> Result<&str, FormError> {
        self.single(key)?.ok_or(FormError::Missing(key))
    }

    /// An optional field; an empty value means "not given" (Twilio sends
    /// e.g. `CallerName=` when it has no CNAM data).
    fn optional(&self, key: &'static str) -> Result<Option<String>, FormError> {
        Ok(self
            .single(key)?
            .filter(|v| !v.is_empty())
            .map(str::to_owned))
    }
}

/// True when `value` is `prefix` followed by exactly 32 hex digits, the shape
/// of every Twilio resource SID.
fn is_sid(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A call's SID: `CA` + 32 hex digits. The idempotency key for a call.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallSid(String);

impl CallSid {
    pub fn parse(value: &str) -> Result<Self, FormError> {
        if is_sid(value, "CA") {
            Ok(Self(value.to_owned()))
        } else {
            Err(FormError::Invalid("CallSid"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message's SID: `SM` (SMS) or `MM` (MMS) + 32 hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageSid(String);

impl MessageSid {
    pub fn parse(value: &str) -> Result<Self, FormError> {
        if is_sid(value, "SM") || is_sid(value, "MM") {
            Ok(Self(value.to_owned()))
        } else {
            Err(FormError::Invalid("MessageSid"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// SIDs are identifiers, not secrets: print them plainly, without the
// tuple-struct noise, so logs stay readable.
impl fmt::Debug for CallSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for CallSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MessageSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for MessageSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `POST /webhooks/twilio/voice`: an incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceWebhook {
    pub call_sid: CallSid,
    pub account_sid: String,
    /// As received; may be empty or a keypad sentinel for a withheld caller,
    /// which is why presence is required but content is not checked here.
    pub from: String,
    pub to: String,
    pub call_status: Option<String>,
    /// STIR/SHAKEN verdict, e.g. `TN-Validation-Passed-A`.
    pub stir_verstat: Option<String>,
    pub caller_name: Option<String>,
}

impl VoiceWebhook {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        let call_sid = CallSid::parse(form.required("CallSid")?)?;
        let account_sid = form.required("AccountSid")?;
        if account_sid.is_empty() {
            return Err(FormError::Invalid("AccountSid"));
        }
        Ok(Self {
            call_sid,
            account_sid: account_sid.to_owned(),
            from: form.required("From")?.to_owned(),
            to: form.required("To")?.to_owned(),
            call_status: form.optional("CallStatus")?,
            stir_verstat: form.optional("StirVerstat")?,
            caller_name: form.optional("CallerName")?,
        })
    }
}

/// `POST /webhooks/twilio/gather`: what the caller keyed into a `<Gather>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherWebhook {
    pub call_sid: CallSid,
    /// `None` when the caller keyed nothing.
    pub digits: Option<String>,
}

impl GatherWebhook {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        Ok(Self {
            call_sid: CallSid::parse(form.required("CallSid")?)?,
            digits: form.optional("Digits")?,
        })
    }
}

/// `POST /webhooks/twilio/status`: a call's progress or end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusWebhook {
    pub call_sid: CallSid,
    pub call_status: String,
    /// Orders callbacks of one call, which Twilio may deliver out of order.
    pub sequence_number: Option<u64>,
}

impl StatusWebhook {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        let call_sid = CallSid::parse(form.required("CallSid")?)?;
        let call_status = form.required("CallStatus")?;
        if call_status.is_empty() {
            return Err(FormError::Invalid("CallStatus"));
        }
        let sequence_number = match form.optional("SequenceNumber")? {
            Some(raw) => Some(
                raw.parse::<u64>()
                    .map_err(|_| FormError::Invalid("SequenceNumber"))?,
            ),
            None => None,
        };
        Ok(Self {
            call_sid,
            call_status: call_status.to_owned(),
            sequence_number,
        })
    }
}

/// `POST /webhooks/twilio/message-status`: delivery progress of an SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageStatusWebhook {
    pub message_sid: MessageSid,
    pub message_status: String,
    /// Twilio's numeric error code (e.g. `30003`) when delivery failed.
    pub error_code: Option<String>,
}

impl MessageStatusWebhook {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        let message_sid = MessageSid::parse(form.required("MessageSid")?)?;
        let message_status = form.required("MessageStatus")?;
        if message_status.is_empty() {
            return Err(FormError::Invalid("MessageStatus"));
        }
        Ok(Self {
            message_sid,
            message_status: message_status.to_owned(),
            error_code: form.optional("ErrorCode")?,
        })
    }
}

macro_rules! try_from_form {
    ($($payload:ty),* $(,)?) => {$(
        impl TryFrom<&Form> for $payload {
            type Error = FormError;

            fn try_from(form: &Form) -> Result<Self, Self::Error> {
                Self::from_form(form)
            }
        }
    )*};
}

try_from_form!(
    VoiceWebhook,
    GatherWebhook,
    StatusWebhook,
    MessageStatusWebhook
);

#[cfg(test)]
mod tests;
