//! The requests Telnyx sends: TeXML's form posts for a call (voice, gather,
//! status) and the Messaging API v2's JSON events for an SMS. Parsed only
//! after the signature held; errors name the field, never its value.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::providers::form::{Form, FormError};

/// A TeXML call id (`CallSid`, e.g. `v3:…`): printable ASCII, 1 to 128
/// characters. The idempotency key for a call.
fn call_sid(form: &Form) -> Result<String, FormError> {
    let sid = form.required("CallSid")?;
    let plausible =
        !sid.is_empty() && sid.len() <= 128 && sid.bytes().all(|b| b.is_ascii_graphic());
    if plausible {
        Ok(sid.to_owned())
    } else {
        Err(FormError::Invalid("CallSid"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = TexmlVoiceForm, rename_all = "PascalCase")]
pub struct Voice {
    /// Telnyx's call id (e.g. `v3:…`): printable ASCII.
    #[schema(min_length = 1, max_length = 128)]
    pub call_sid: String,
    pub from: String,
    pub to: String,
    #[schema(nullable = false, rename = "ShakenStirAttestation")]
    pub attestation: Option<String>,
    /// `A` with `true` is full attestation.
    #[schema(nullable = false, rename = "ShakenStirValidated")]
    pub validated: Option<String>,
}

impl Voice {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        Ok(Self {
            call_sid: call_sid(form)?,
            from: form.required("From")?.to_owned(),
            to: form.required("To")?.to_owned(),
            attestation: form.optional("ShakenStirAttestation")?,
            validated: form.optional("ShakenStirValidated")?,
        })
    }

    /// The attestation as people read it, e.g. `A (validated)`.
    pub fn attestation_words(&self) -> Option<String> {
        let level = self.attestation.as_deref()?;
        let validated = self
            .validated
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Some(if validated {
            format!("{level} (validated)")
        } else {
            format!("{level} (not validated)")
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = TexmlGatherForm, rename_all = "PascalCase")]
pub struct Gather {
    /// Telnyx's call id (e.g. `v3:…`): printable ASCII.
    #[schema(min_length = 1, max_length = 128)]
    pub call_sid: String,
    /// What the caller keyed; absent or empty when nothing.
    #[schema(nullable = false)]
    pub digits: Option<String>,
}

impl Gather {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        Ok(Self {
            call_sid: call_sid(form)?,
            digits: form.optional("Digits")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(as = TexmlStatusForm, rename_all = "PascalCase")]
pub struct Status {
    /// Telnyx's call id (e.g. `v3:…`): printable ASCII.
    #[schema(min_length = 1, max_length = 128)]
    pub call_sid: String,
    /// `completed`, `busy`, `failed`, `no-answer` and `canceled` end the call; others are ignored.
    pub call_status: String,
}

impl Status {
    pub fn from_form(form: &Form) -> Result<Self, FormError> {
        let call_status = form.required("CallStatus")?;
        if call_status.is_empty() {
            return Err(FormError::Invalid("CallStatus"));
        }
        Ok(Self {
            call_sid: call_sid(form)?,
            call_status: call_status.to_owned(),
        })
    }
}

/// Why a messaging event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the messaging event is not the documented JSON")]
    Shape,
    #[error("the messaging event names no recipient")]
    NoRecipient,
}

/// `POST /webhooks/telnyx/message-status`: a Messaging API v2 event
/// (`message.sent`, `message.finalized`) about a message pingate sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEvent {
    pub event_type: String,
    pub message_id: String,
    /// The (first) recipient's status.
    pub status: String,
    /// The first error's code, when delivery failed.
    pub error_code: Option<String>,
}

/// A Messaging API v2 event (`message.sent`, `message.finalized`).
#[derive(Deserialize, ToSchema)]
#[schema(as = TelnyxMessageEvent)]
pub struct Envelope {
    data: Data,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = TelnyxMessageData)]
struct Data {
    event_type: String,
    payload: Payload,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = TelnyxMessagePayload)]
struct Payload {
    /// The message id `POST /v2/messages` answered.
    id: String,
    #[serde(default)]
    to: Vec<Recipient>,
    #[serde(default)]
    errors: Vec<ApiError>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = TelnyxRecipient)]
struct Recipient {
    /// `delivered`, `delivery_failed` and `sending_failed` are final; others are ignored.
    status: String,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = TelnyxError)]
struct ApiError {
    #[schema(value_type = String)]
    code: serde_json::Value,
}

impl MessageEvent {
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        let e: Envelope = serde_json::from_slice(body).map_err(|_| EventError::Shape)?;
        let p = e.data.payload;
        if p.id.is_empty() || p.id.len() > 128 {
            return Err(EventError::Shape);
        }
        let status =
            p.to.into_iter()
                .next()
                .ok_or(EventError::NoRecipient)?
                .status;
        let error_code = p.errors.into_iter().next().and_then(|e| match e.code {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        Ok(Self {
            event_type: e.data.event_type,
            message_id: p.id,
            status,
            error_code: error_code.map(|c| c.chars().take(16).collect()),
        })
    }
}

#[cfg(test)]
mod tests;
