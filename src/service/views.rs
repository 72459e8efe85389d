//! The JSON shapes of the public API (DESIGN.md "Public contract") as
//! typed views of the stored rows: what a client reads of a call, a
//! challenge, a message and a grant. The PIN and its hash are in none of
//! them; a grant's token only in `GrantWithToken`, once.

use secrecy::{ExposeSecret, SecretString};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use crate::clock::{Millis, rfc3339};
use crate::domain::message::{MessageKind, MessageStatus};
use crate::domain::org::Channel;
use crate::domain::verification::{
    CallStatus, ChallengeStatus, GrantBasis, Verification, grant_active,
};
use crate::store::calls::CallRow;
use crate::store::challenges::ChallengeRow;
use crate::store::grants::GrantRow;
use crate::store::messages::MessageRow;

mod schema;

use super::challenges::effective_status;
use super::grants::IssuedGrant;

/// One page of a listing; `next` is the cursor of the following page
/// (a string, or a number where the listing pages by sequence or size).
/// Its schema is `http::openapi::schemas`' (utoipa's derive loses the
/// `Option` of a generic field).
#[derive(Debug, Serialize)]
pub struct Page<T, C = String> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

/// A call with its challenges, grants (never their tokens) and notices.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Call)]
pub struct CallView {
    pub call_id: String,
    /// The provider that carried the call (a folder of `src/providers/`).
    pub provider: String,
    /// The provider's call id (`CallSid`, `CallUUID`).
    pub provider_call_id: String,
    /// The caller as received (not normalised).
    pub from: String,
    pub to: String,
    #[schema(schema_with = schema::caller_kind)]
    pub caller_kind: String,
    /// STIR/SHAKEN verdict, e.g. `TN-Validation-Passed-A`.
    #[schema(required = true)]
    pub attestation: Option<String>,
    #[schema(required = true)]
    pub org_id: Option<String>,
    #[schema(required = true, schema_with = schema::org_source)]
    pub org_source: Option<String>,
    pub verification: Verification,
    pub status: CallStatus,
    /// The agent handling the call (the first to act on it, or who took it over); null until one acts.
    #[schema(required = true)]
    pub handled_by: Option<String>,
    /// The language the IVR spoke to the caller in (support lines), or null.
    #[schema(examples("zh-CN", "en"))]
    pub language: Option<String>,
    /// The support line the caller chose (`[support]`), or null.
    #[schema(examples("technical"))]
    pub line: Option<String>,
    #[schema(schema_with = schema::severity)]
    pub severity: Option<String>,
    /// Whether the call arrived inside the line's hours; null until routed or without support lines.
    pub inside_hours: Option<bool>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime, required = true)]
    pub ended_at: Option<String>,
    pub challenges: Vec<ChallengeView>,
    pub grants: Vec<GrantView>,
    /// Notices of issued grants sent to the org's contacts.
    pub notices: Vec<MessageView>,
}

/// A call in a list, without its sub-resources.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallSummary {
    pub call_id: String,
    /// The provider that carried the call (a folder of `src/providers/`).
    pub provider: String,
    /// The provider's call id (`CallSid`, `CallUUID`).
    pub provider_call_id: String,
    /// The caller as received (not normalised).
    pub from: String,
    #[schema(schema_with = schema::caller_kind)]
    pub caller_kind: String,
    /// STIR/SHAKEN verdict, e.g. `TN-Validation-Passed-A`.
    #[schema(required = true)]
    pub attestation: Option<String>,
    #[schema(required = true)]
    pub org_id: Option<String>,
    pub verification: Verification,
    pub status: CallStatus,
    /// The agent handling the call (the first to act on it, or who took it over); null until one acts.
    #[schema(required = true)]
    pub handled_by: Option<String>,
    /// The support line the caller chose (`[support]`), or null.
    #[schema(examples("technical"))]
    pub line: Option<String>,
    #[schema(schema_with = schema::severity)]
    pub severity: Option<String>,
    /// Whether the call arrived inside the line's hours; null until routed or without support lines.
    pub inside_hours: Option<bool>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A PIN challenge. The PIN itself is never returned by any operation; `destination` is the org's registered contact for `channel`, masked (`a***@contoso.com`, `+86 *** **** 0365`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Challenge)]
pub struct ChallengeView {
    pub challenge_id: String,
    pub call_id: String,
    pub org_id: String,
    pub channel: Channel,
    /// Masked; never the full address or number.
    pub destination: String,
    pub status: ChallengeStatus,
    #[schema(minimum = 0)]
    pub attempts_left: i64,
    #[schema(minimum = 1)]
    pub sends: i64,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub delivery: Vec<MessageView>,
}

/// One outgoing message (a PIN or a grant notice). Its body is never shown.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Message)]
pub struct MessageView {
    pub message_id: String,
    pub kind: MessageKind,
    pub channel: Channel,
    /// Masked.
    pub destination: String,
    #[schema(examples(
        "queued",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "dead",
        "cancelled"
    ))]
    pub status: MessageStatus,
    #[schema(minimum = 0)]
    pub attempts: i64,
    #[schema(required = true)]
    pub provider_message_id: Option<String>,
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Permission for `agent` to act on `org_id`'s account until `expires_at`. Never includes the token.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Grant)]
pub struct GrantView {
    pub grant_id: String,
    pub agent: String,
    pub org_id: String,
    pub call_id: String,
    /// null for `trusted_number` grants.
    #[schema(required = true)]
    pub challenge_id: Option<String>,
    pub basis: GrantBasis,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime, required = true)]
    pub revoked_at: Option<String>,
    #[schema(required = true)]
    pub revoked_by: Option<String>,
    pub active: bool,
}

/// A grant as issued: the only answer that carries its bearer token. pingate stores only the token's hash, so it cannot be shown again.
#[derive(Serialize, ToSchema)]
pub struct GrantWithToken {
    #[serde(flatten)]
    pub grant: GrantView,
    #[serde(serialize_with = "expose")]
    /// Shown once.
    #[schema(value_type = String, pattern = "^pgg_[A-Za-z0-9_-]+$")]
    pub token: SecretString,
}

fn expose<S: Serializer>(token: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(token.expose_secret())
}

pub fn call(
    c: &CallRow,
    challenges: &[ChallengeRow],
    messages: &[MessageRow],
    grants: &[GrantRow],
    now: Millis,
) -> CallView {
    let pin_messages = |ch: &ChallengeRow| -> Vec<&MessageRow> {
        messages
            .iter()
            .filter(|m| m.challenge_id.as_deref() == Some(&ch.id) && m.kind == MessageKind::Pin)
            .collect()
    };
    CallView {
        call_id: c.id.clone(),
        provider: c.provider.clone(),
        provider_call_id: c.provider_call_id.clone(),
        from: c.from_raw.clone(),
        to: c.to_raw.clone(),
        caller_kind: c.caller_kind.clone(),
        attestation: c.attestation.clone(),
        org_id: c.org_id.clone(),
        org_source: c.org_source.clone(),
        verification: c.verification,
        status: c.status,
        handled_by: c.handled_by.clone(),
        language: c.language.clone(),
        line: c.line.clone(),
        severity: c.severity.clone(),
        inside_hours: c.inside_hours.map(|v| v == 1),
        created_at: rfc3339(c.created_at),
        ended_at: c.ended_at.map(rfc3339),
        challenges: challenges
            .iter()
            .map(|ch| challenge(ch, &pin_messages(ch), now))
            .collect(),
        grants: grants.iter().map(|g| grant(g, now)).collect(),
        notices: messages
            .iter()
            .filter(|m| m.kind == MessageKind::GrantNotice)
            .map(message)
            .collect(),
    }
}

pub fn call_summary(c: &CallRow) -> CallSummary {
    CallSummary {
        call_id: c.id.clone(),
        provider: c.provider.clone(),
        provider_call_id: c.provider_call_id.clone(),
        from: c.from_raw.clone(),
        caller_kind: c.caller_kind.clone(),
        attestation: c.attestation.clone(),
        org_id: c.org_id.clone(),
        verification: c.verification,
        status: c.status,
        handled_by: c.handled_by.clone(),
        line: c.line.clone(),
        severity: c.severity.clone(),
        inside_hours: c.inside_hours.map(|v| v == 1),
        created_at: rfc3339(c.created_at),
    }
}

pub fn challenge(c: &ChallengeRow, messages: &[&MessageRow], now: Millis) -> ChallengeView {
    ChallengeView {
        challenge_id: c.id.clone(),
        call_id: c.call_id.clone(),
        org_id: c.org_id.clone(),
        channel: c.channel,
        destination: c.destination.clone(),
        status: effective_status(c, now),
        attempts_left: (c.max_attempts - c.attempts).max(0),
        sends: c.sends,
        created_at: rfc3339(c.created_at),
        expires_at: rfc3339(c.expires_at),
        delivery: messages.iter().map(|m| message(m)).collect(),
    }
}

pub fn message(m: &MessageRow) -> MessageView {
    MessageView {
        message_id: m.id.clone(),
        kind: m.kind,
        channel: m.channel,
        destination: m.destination_masked.clone(),
        status: m.status,
        attempts: m.attempts,
        provider_message_id: m.provider_message_id.clone(),
        // Rows written before reasons were redacted are masked on the way out.
        last_error: m
            .last_error
            .as_deref()
            .map(crate::delivery::failure::redact),
        updated_at: rfc3339(m.updated_at),
    }
}

pub fn grant(g: &GrantRow, now: Millis) -> GrantView {
    GrantView {
        grant_id: g.id.clone(),
        agent: g.agent.clone(),
        org_id: g.org_id.clone(),
        call_id: g.call_id.clone(),
        challenge_id: g.challenge_id.clone(),
        basis: g.basis,
        created_at: rfc3339(g.created_at),
        expires_at: rfc3339(g.expires_at),
        revoked_at: g.revoked_at.map(rfc3339),
        revoked_by: g.revoked_by.clone(),
        active: grant_active(now, g.expires_at, g.revoked_at),
    }
}

pub fn grant_with_token(g: &IssuedGrant, now: Millis) -> GrantWithToken {
    GrantWithToken {
        grant: grant(&g.row, now),
        token: g.token.clone(),
    }
}
