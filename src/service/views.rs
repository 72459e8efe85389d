//! The JSON shapes of the public API (DESIGN.md "Public contract").

use serde_json::{Value, json};

use crate::clock::{Millis, rfc3339};
use crate::domain::message::MessageKind;
use crate::domain::verification::grant_active;
use crate::store::calls::CallRow;
use crate::store::challenges::ChallengeRow;
use crate::store::grants::GrantRow;
use crate::store::messages::MessageRow;

use super::challenges::effective_status;

pub fn call(
    c: &CallRow,
    challenges: &[ChallengeRow],
    messages: &[MessageRow],
    grants: &[GrantRow],
    now: Millis,
) -> Value {
    json!({
        "call_id": c.id,
        "provider": c.provider,
        "provider_call_id": c.provider_call_id,
        "from": c.from_raw,
        "to": c.to_raw,
        "caller_kind": c.caller_kind,
        "attestation": c.attestation,
        "org_id": c.org_id,
        "org_source": c.org_source,
        "verification": c.verification,
        "status": c.status,
        "handled_by": c.handled_by,
        "language": c.language,
        "line": c.line,
        "severity": c.severity,
        "inside_hours": c.inside_hours.map(|v| v == 1),
        "created_at": rfc3339(c.created_at),
        "ended_at": c.ended_at.map(rfc3339),
        "challenges": challenges.iter().map(|ch| {
            let msgs: Vec<&MessageRow> = messages.iter().filter(|m| m.challenge_id.as_deref() == Some(&ch.id) && m.kind == MessageKind::Pin).collect();
            challenge(ch, &msgs, now)
        }).collect::<Vec<_>>(),
        "grants": grants.iter().map(|g| grant(g, now)).collect::<Vec<_>>(),
        "notices": messages.iter().filter(|m| m.kind == MessageKind::GrantNotice).map(message).collect::<Vec<_>>(),
    })
}

/// A call in a list: without its sub-resources.
pub fn call_summary(c: &CallRow) -> Value {
    json!({
        "call_id": c.id,
        "provider": c.provider,
        "provider_call_id": c.provider_call_id,
        "from": c.from_raw,
        "caller_kind": c.caller_kind,
        "attestation": c.attestation,
        "org_id": c.org_id,
        "verification": c.verification,
        "status": c.status,
        "handled_by": c.handled_by,
        "line": c.line,
        "severity": c.severity,
        "inside_hours": c.inside_hours.map(|v| v == 1),
        "created_at": rfc3339(c.created_at),
    })
}

pub fn challenge(c: &ChallengeRow, messages: &[&MessageRow], now: Millis) -> Value {
    let status = effective_status(c, now);
    json!({
        "challenge_id": c.id,
        "call_id": c.call_id,
        "org_id": c.org_id,
        "channel": c.channel,
        "destination": c.destination,
        "status": status.as_str(),
        "attempts_left": (c.max_attempts - c.attempts).max(0),
        "sends": c.sends,
        "created_at": rfc3339(c.created_at),
        "expires_at": rfc3339(c.expires_at),
        "delivery": messages.iter().map(|m| message(m)).collect::<Vec<_>>(),
    })
}

pub fn message(m: &MessageRow) -> Value {
    json!({
        "message_id": m.id,
        "kind": m.kind,
        "channel": m.channel,
        "destination": m.destination_masked,
        "status": m.status,
        "attempts": m.attempts,
        "provider_message_id": m.provider_message_id,
        // Rows written before reasons were redacted are masked on the way out.
        "last_error": m.last_error.as_deref().map(crate::delivery::failure::redact),
        "updated_at": rfc3339(m.updated_at),
    })
}

pub fn grant(g: &GrantRow, now: Millis) -> Value {
    json!({
        "grant_id": g.id,
        "agent": g.agent,
        "org_id": g.org_id,
        "call_id": g.call_id,
        "challenge_id": g.challenge_id,
        "basis": g.basis,
        "created_at": rfc3339(g.created_at),
        "expires_at": rfc3339(g.expires_at),
        "revoked_at": g.revoked_at.map(rfc3339),
        "revoked_by": g.revoked_by,
        "active": grant_active(now, g.expires_at, g.revoked_at),
    })
}
