//! Twilio's webhook bodies: the strict form decoder (shared with
//! signature checking, in `providers::form`) and the typed payloads pingate
//! reads from voice, gather, status and message-status webhooks.

use std::fmt;
use utoipa::ToSchema;

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

/// Twilio's voice request parameters; the ones pingate reads are listed, the others are covered by the signature and ignored. A repeated parameter with differing values answers 400.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = VoiceWebhookForm, rename_all = "PascalCase")]
pub struct VoiceWebhook {
    #[schema(value_type = String, pattern = "^CA[0-9a-fA-F]{32}$")]
    pub call_sid: CallSid,
    #[schema(min_length = 1)]
    pub account_sid: String,
    /// E.164, `anonymous`/`restricted`/..., `client:...` or `sip:...`; may be empty.
    pub from: String,
    pub to: String,
    #[schema(nullable = false)]
    pub call_status: Option<String>,
    #[schema(nullable = false, examples("TN-Validation-Passed-A"))]
    pub stir_verstat: Option<String>,
    #[schema(nullable = false)]
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

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = GatherWebhookForm, rename_all = "PascalCase")]
pub struct GatherWebhook {
    #[schema(value_type = String, pattern = "^CA[0-9a-fA-F]{32}$")]
    pub call_sid: CallSid,
    /// What the caller keyed; absent or empty when nothing.
    #[schema(nullable = false)]
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

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = StatusWebhookForm, rename_all = "PascalCase")]
pub struct StatusWebhook {
    #[schema(value_type = String, pattern = "^CA[0-9a-fA-F]{32}$")]
    pub call_sid: CallSid,
    #[schema(
        examples(
            "ringing",
            "in-progress",
            "completed",
            "busy",
            "failed",
            "no-answer",
            "canceled"
        ),
        min_length = 1
    )]
    pub call_status: String,
    #[schema(nullable = false, value_type = Option<String>, pattern = "^[0-9]+$")]
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

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = MessageStatusWebhookForm, rename_all = "PascalCase")]
pub struct MessageStatusWebhook {
    #[schema(value_type = String, pattern = "^(SM|MM)[0-9a-fA-F]{32}$")]
    pub message_sid: MessageSid,
    #[schema(
        examples("sent", "delivered", "undelivered", "failed", "read"),
        min_length = 1
    )]
    pub message_status: String,
    #[schema(nullable = false)]
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
