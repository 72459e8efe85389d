//! The form posts Plivo sends: the answer URL (an incoming call), the
//! `<GetDigits>` action (what the caller keyed), the hangup URL and the
//! message status URL. Parsed only after the signature held; errors name
//! the field, never its value. Numbers are turned into E.164 here.

use utoipa::ToSchema;

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

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = PlivoAnswerForm, rename_all = "PascalCase")]
pub struct Answer {
    /// Plivo's id (a UUID): printable ASCII.
    #[schema(rename = "CallUUID", min_length = 1, max_length = 128)]
    pub call_uuid: String,
    /// The caller; digits without `+` (e.g. `14155550100`) become E.164.
    pub from: String,
    /// The number called, without `+`.
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

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = PlivoInputForm, rename_all = "PascalCase")]
pub struct Input {
    /// Plivo's id (a UUID): printable ASCII.
    #[schema(rename = "CallUUID", min_length = 1, max_length = 128)]
    pub call_uuid: String,
    /// The keys pressed; absent on silence (the `<Redirect>` after a `<GetDigits>`).
    #[schema(nullable = false)]
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

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = PlivoHangupForm, rename_all = "PascalCase")]
pub struct Hangup {
    /// Plivo's id (a UUID): printable ASCII.
    #[schema(rename = "CallUUID", min_length = 1, max_length = 128)]
    pub call_uuid: String,
    /// `completed`, `busy`, `failed`, `timeout` or `no-answer`, `cancel` end the call.
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

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = PlivoMessageStatusForm, rename_all = "PascalCase")]
pub struct MessageStatus {
    /// Plivo's id (a UUID): printable ASCII.
    #[schema(rename = "MessageUUID", min_length = 1, max_length = 128)]
    pub message_uuid: String,
    pub status: String,
    /// Plivo's error code when delivery failed (`0` when none).
    #[schema(nullable = false)]
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
