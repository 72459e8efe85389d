//! Twilio's webhook bodies: the strict form decoder (shared with
//! signature checking, in `providers::form`) and the typed payloads pingate
//! reads from voice, gather, status and message-status webhooks.

use std::fmt;

pub use crate::providers::form::{Form, FormError, decode_pairs};

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
