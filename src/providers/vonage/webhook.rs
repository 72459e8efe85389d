//! The requests Vonage sends: the Voice API's answer webhook (a GET with
//! query parameters by default, or a POST of JSON), its input and event
//! webhooks (JSON), and the SMS API's delivery receipts (JSON, a form, or
//! query parameters, as the dashboard's "HTTP method" says). Parsed only
//! after the signature held; errors name the field, never its value.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::neutral;
use crate::providers::form::Form;

/// Why a signed request does not have Vonage's documented shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the webhook body is not the documented JSON")]
    Shape,
    #[error("the webhook's parameters are not a valid query or form")]
    Form,
    #[error("required field {0} is missing")]
    Missing(&'static str),
    #[error("field {0} has an invalid value")]
    Invalid(&'static str),
}

/// A call's `uuid` (or, without one, its `conversation_uuid`): printable
/// ASCII, 1 to 128 characters. The idempotency key for a call.
fn call_id(uuid: Option<String>, conversation: Option<String>) -> Result<String, PayloadError> {
    let id = uuid
        .filter(|u| !u.is_empty())
        .or(conversation.filter(|c| !c.is_empty()))
        .ok_or(PayloadError::Missing("uuid"))?;
    let plausible = id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
    if plausible {
        Ok(id)
    } else {
        Err(PayloadError::Invalid("uuid"))
    }
}

/// The answer webhook's fields (query parameters for a GET, JSON for a
/// POST). Numbers come without `+` and are read as E.164.
#[derive(Deserialize, ToSchema, IntoParams)]
#[schema(as = VonageCall)]
#[into_params(parameter_in = Query)]
pub struct CallJson {
    /// The caller (absent when withheld).
    #[serde(default)]
    #[schema(nullable = false, examples("447700900000"))]
    #[param(nullable = false)]
    from: Option<String>,
    /// The number called.
    #[serde(default)]
    #[schema(nullable = false, required = true, examples("447700900001"))]
    #[param(nullable = false, required = true)]
    to: Option<String>,
    /// The call leg's id: the call's idempotency key (`conversation_uuid`
    /// when absent).
    #[serde(default)]
    #[schema(nullable = false)]
    #[param(nullable = false)]
    uuid: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    #[param(nullable = false)]
    conversation_uuid: Option<String>,
}

/// The answer webhook: an incoming call. Numbers are E.164 already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub call_id: String,
    pub from: String,
    pub to: String,
}

impl Answer {
    /// A POST's JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        let c: CallJson = serde_json::from_slice(body).map_err(|_| PayloadError::Shape)?;
        Self::new(c.uuid, c.conversation_uuid, c.from, c.to)
    }

    /// A GET's query string.
    pub fn from_query(query: &str) -> Result<Self, PayloadError> {
        let form = Form::parse(query.as_bytes()).map_err(|_| PayloadError::Form)?;
        let field = |k: &'static str| form.optional(k).map_err(|_| PayloadError::Invalid(k));
        Self::new(
            field("uuid")?,
            field("conversation_uuid")?,
            field("from")?,
            field("to")?,
        )
    }

    fn new(
        uuid: Option<String>,
        conversation: Option<String>,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<Self, PayloadError> {
        let to = to
            .filter(|t| !t.is_empty())
            .ok_or(PayloadError::Missing("to"))?;
        Ok(Self {
            call_id: call_id(uuid, conversation)?,
            // A withheld caller may come without `from`: classified as such.
            from: neutral::e164(from.as_deref().unwrap_or_default()),
            to: neutral::e164(&to),
        })
    }
}

/// An `input` action's result.
#[derive(Deserialize, ToSchema)]
#[schema(as = VonageInput)]
pub struct InputJson {
    #[serde(default)]
    #[schema(nullable = false)]
    uuid: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    conversation_uuid: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    dtmf: Option<Dtmf>,
}

/// The keys of an `input` action.
#[derive(Deserialize, ToSchema)]
#[schema(as = VonageDtmf)]
pub struct Dtmf {
    /// Empty when the input timed out.
    #[serde(default)]
    #[schema(nullable = false)]
    digits: Option<String>,
}

/// The input action's result: what the caller keyed (nothing when it
/// timed out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub call_id: String,
    pub digits: Option<String>,
}

impl Input {
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        let i: InputJson = serde_json::from_slice(body).map_err(|_| PayloadError::Shape)?;
        Ok(Self {
            call_id: call_id(i.uuid, i.conversation_uuid)?,
            digits: i.dtmf.and_then(|d| d.digits).filter(|d| !d.is_empty()),
        })
    }
}

/// A call event. `completed`, `busy`, `failed`, `rejected`, `timeout`,
/// `unanswered` and `cancelled` end the call; other statuses and events
/// without one are ignored.
#[derive(Deserialize, ToSchema)]
#[schema(as = VonageEvent)]
pub struct EventJson {
    #[serde(default)]
    #[schema(nullable = false)]
    uuid: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    conversation_uuid: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    status: Option<String>,
}

/// The event webhook: a call's progress. Events without a `status`
/// (transfers, recordings) carry nothing pingate needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub call_id: String,
    pub status: Option<String>,
}

impl Event {
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        let e: EventJson = serde_json::from_slice(body).map_err(|_| PayloadError::Shape)?;
        Ok(Self {
            call_id: call_id(e.uuid, e.conversation_uuid)?,
            status: e.status.filter(|s| !s.is_empty()),
        })
    }
}

/// An SMS API delivery receipt about a message pingate sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub message_id: String,
    pub status: String,
    /// `err-code`, when not `0`.
    pub error_code: Option<String>,
}

impl Receipt {
    /// A receipt from its parameters (see [`receipt_params`]).
    pub fn from_params(pairs: &[(String, String)]) -> Result<Self, PayloadError> {
        let message_id = single(pairs, "messageId")?.ok_or(PayloadError::Missing("messageId"))?;
        if message_id.len() > 128 || !message_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PayloadError::Invalid("messageId"));
        }
        let status = single(pairs, "status")?.ok_or(PayloadError::Missing("status"))?;
        let error_code = single(pairs, "err-code")?
            .filter(|c| *c != "0")
            .map(|c| c.chars().take(16).collect());
        Ok(Self {
            message_id: message_id.to_owned(),
            status: status.chars().take(32).collect(),
            error_code,
        })
    }
}

/// An SMS API delivery receipt (JSON for POST-JSON, a form for POST, query
/// parameters for GET): the parameters `Receipt::from_params` and the
/// `sig` check read.
#[derive(ToSchema, IntoParams)]
#[schema(as = VonageReceipt)]
#[into_params(parameter_in = Query)]
pub struct ReceiptFields {
    /// The `message-id` `POST /sms/json` answered.
    #[schema(rename = "messageId")]
    #[param(rename = "messageId")]
    pub message_id: String,
    /// `delivered`, `expired` and `rejected` (undelivered), `failed` are
    /// final; `accepted`, `buffered`, `unknown` are ignored.
    pub status: String,
    /// The carrier's error code (`0`: none).
    #[schema(rename = "err-code", nullable = false)]
    #[param(rename = "err-code", nullable = false)]
    pub err_code: Option<String>,
    /// The SMS API's signature (when no JWT is sent).
    #[schema(nullable = false)]
    #[param(nullable = false)]
    pub sig: Option<String>,
    /// Unix seconds, signed with `sig`.
    #[schema(nullable = false)]
    #[param(nullable = false)]
    pub timestamp: Option<String>,
}

/// A delivery receipt's parameters, as the dashboard's "HTTP method" sends
/// them: a JSON object's scalar fields (`POST-JSON`), or a form (`POST`
/// body, `GET` query). What the SMS API's `sig` covers and what the
/// receipt is read from are the same pairs.
pub fn receipt_params(text: &[u8], json: bool) -> Result<Vec<(String, String)>, PayloadError> {
    if !json {
        return Ok(Form::parse(text)
            .map_err(|_| PayloadError::Form)?
            .pairs()
            .to_vec());
    }
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(text).map_err(|_| PayloadError::Shape)?;
    Ok(object
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Number(n) => Some((k, n.to_string())),
            serde_json::Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect())
}

/// The one non-empty value of `key`; differing repeats are refused.
fn single<'a>(
    pairs: &'a [(String, String)],
    key: &'static str,
) -> Result<Option<&'a str>, PayloadError> {
    let mut values = pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if let Some(f) = first
        && values.any(|v| v != f)
    {
        return Err(PayloadError::Invalid(key));
    }
    Ok(first.filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests;
