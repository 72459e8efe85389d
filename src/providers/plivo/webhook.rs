//! The form posts Plivo sends: the answer URL (an incoming call), the
//! `<GetDigits>` action (what the caller keyed), the hangup URL and the
//! message status URL. Parsed only after the signature held; errors name
//! the field, never its value. Numbers are turned into E.164 here.

use super::neutral::e164;
use crate::providers::form::{Form, FormError};

/// A Plivo id (`CallUUID`, `MessageUUID`: a UUID): printable ASCII, 1 to
/// 128 characters. The idempotency key for a call or a message.
fn uuid_field(form: &Form, key: &'static str) -> Result<String, FormError> {
    let id = form.required(key)?;
    let plausible = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
    if plausible {
        Ok(id.to_owned())
    } else {
        Err(FormError::Invalid(key))
    }
}

/// `POST /webhooks/plivo/answer`: an incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub call_uuid: String,
    /// The caller, E.164 where it is a number.
    pub from: String,
    pub to: String,
}

impl Answer {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        Ok(Self {
            call_uuid: uuid_field(form, "CallUUID")?,
            from: e164(form.required("From")?),
            to: e164(form.required("To")?),
        })
    }
}

/// `POST /webhooks/plivo/input`: what the caller keyed (none on silence,
/// when the `<Redirect>` after a `<GetDigits>` posts here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub call_uuid: String,
    pub digits: Option<String>,
}

impl Input {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        Ok(Self {
            call_uuid: uuid_field(form, "CallUUID")?,
            digits: form.optional("Digits")?,
        })
    }
}

/// `POST /webhooks/plivo/hangup`: the call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hangup {
    pub call_uuid: String,
    pub call_status: String,
}

impl Hangup {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        let call_status = form.required("CallStatus")?;
        if call_status.is_empty() {
            return Err(FormError::Invalid("CallStatus"));
        }
        Ok(Self {
            call_uuid: uuid_field(form, "CallUUID")?,
            call_status: call_status.to_owned(),
        })
    }
}

/// `POST /webhooks/plivo/message-status`: a message's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageStatus {
    pub message_uuid: String,
    pub status: String,
    /// Plivo's error code when delivery failed (`ErrorCode`, digits).
    pub error_code: Option<String>,
}

impl MessageStatus {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        let status = form.required("Status")?;
        if status.is_empty() {
            return Err(FormError::Invalid("Status"));
        }
        let error_code = form
            .optional("ErrorCode")?
            .filter(|c| c != "0")
            .map(|c| c.chars().take(16).collect());
        Ok(Self {
            message_uuid: uuid_field(form, "MessageUUID")?,
            status: status.to_owned(),
            error_code,
        })
    }
}

#[cfg(test)]
mod tests;
