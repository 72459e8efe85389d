//! Audit events: the catalogue of kinds, and the canonical encoding that the
//! hash chain and the Merkle tree cover.
//!
//! Canonical encoding (documented in docs/reviewers.md, stable across versions):
//! a JSON object with exactly the keys `actor, at, call_id, challenge_id,
//! detail, grant_id, kind, org_id, outcome, prev_hash, seq` in that (byte)
//! order, no whitespace, `at` as fixed-width RFC 3339 with milliseconds,
//! absent ids as `null`, `prev_hash` as lowercase hex, `detail` an object
//! whose keys are sorted at every depth, strings escaped as serde_json does.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::clock::{Millis, rfc3339};
use crate::domain::string_enum::string_enum;

pub type Hash = [u8; 32];

/// The `prev_hash` of the first event.
pub const GENESIS: Hash = [0u8; 32];

string_enum! {
    /// Every kind of event, with its one stable string form.
    pub EventKind {
    WebhookSignatureInvalid => "authn_webhook_signature_fail",
    CallReceived => "call_received",
    CallOrgIdentified => "call_org_identified",
    CallOrgNotFound => "call_org_not_found",
    CallEnded => "call_ended",
    CallTaken => "call_taken",
    CallLanguageChosen => "call_language_chosen",
    CallLineChosen => "call_line_chosen",
    CallMenuInvalid => "call_menu_invalid",
    CallSeverityRefused => "call_severity_refused",
    CallRouted => "call_routed",
    CallMenuGaveUp => "call_menu_gave_up",
    ChallengeCreated => "challenge_created",
    ChallengeResent => "challenge_resent",
    ChallengeSuperseded => "challenge_superseded",
    ChallengeCancelled => "challenge_cancelled",
    ChallengeExpired => "challenge_expired",
    PinCheckFailed => "authn_pin_fail",
    PinCheckLocked => "authn_pin_lock",
    PinCheckApproved => "authn_pin_success",
    GrantIssued => "grant_issued",
    GrantRevoked => "grant_revoked",
    MessageQueued => "message_queued",
    MessageSent => "message_sent",
    MessageRetry => "message_retry",
    MessageFailed => "message_failed",
    MessageDeliveryReported => "message_delivery_reported",
    OrgCreated => "org_created",
    OrgUpdated => "org_updated",
    OrgDeleted => "org_deleted",
    PrincipalCreated => "principal_created",
    PrincipalDisabled => "principal_disabled",
    PrincipalRotated => "principal_rotated",
    RateLimitExceeded => "excess_rate_limit_exceeded",
    PinLockout => "authn_pin_lockout",
    OrgFailureCeiling => "authn_pin_org_ceiling",
    OrgOverrideGranted => "org_override_granted",
    LockoutReset => "authn_pin_lockout_reset",
    SmsDestinationRefused => "sms_destination_refused",
    AuthnTokenFail => "authn_token_fail",
    AuthzFail => "authz_fail",
    ConsoleSignedIn => "console_signed_in",
    ConsoleSignedOut => "console_signed_out",
    RetentionRun => "retention_run",
    AuditCheckpointRefused => "audit_checkpoint_refused",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// An event about to be appended; `seq`, `at` and the hashes are assigned
/// by the single writer.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventKind,
    pub actor: String,
    pub org_id: Option<String>,
    pub call_id: Option<String>,
    pub challenge_id: Option<String>,
    pub grant_id: Option<String>,
    pub outcome: Outcome,
    pub detail: Map<String, Value>,
}

impl NewEvent {
    pub fn new(kind: EventKind, actor: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            kind,
            actor: actor.into(),
            org_id: None,
            call_id: None,
            challenge_id: None,
            grant_id: None,
            outcome,
            detail: Map::new(),
        }
    }
    pub fn org(mut self, id: impl Into<String>) -> Self {
        self.org_id = Some(id.into());
        self
    }
    pub fn org_opt(mut self, id: Option<impl Into<String>>) -> Self {
        self.org_id = id.map(Into::into);
        self
    }
    pub fn call(mut self, id: impl Into<String>) -> Self {
        self.call_id = Some(id.into());
        self
    }
    pub fn challenge(mut self, id: impl Into<String>) -> Self {
        self.challenge_id = Some(id.into());
        self
    }
    pub fn grant(mut self, id: impl Into<String>) -> Self {
        self.grant_id = Some(id.into());
        self
    }
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_string(), value.into());
        self
    }
}

/// A stored event, as the API shows it and the verifier reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: i64,
    pub at: Millis,
    pub kind: String,
    pub actor: String,
    pub org_id: Option<String>,
    pub call_id: Option<String>,
    pub challenge_id: Option<String>,
    pub grant_id: Option<String>,
    pub outcome: String,
    pub detail: Value,
    pub prev_hash: Hash,
    pub hash: Hash,
}

impl Event {
    pub fn from_new(seq: i64, at: Millis, prev_hash: Hash, e: NewEvent) -> Event {
        Event::from_new_encoded(seq, at, prev_hash, e).0
    }

    /// The event and its detail in canonical JSON, the form the detail
    /// column stores: encoded once for both the hash and the row.
    pub fn from_new_encoded(seq: i64, at: Millis, prev_hash: Hash, e: NewEvent) -> (Event, String) {
        let mut ev = Event {
            seq,
            at,
            kind: e.kind.as_str().to_string(),
            actor: e.actor,
            org_id: e.org_id,
            call_id: e.call_id,
            challenge_id: e.challenge_id,
            grant_id: e.grant_id,
            outcome: e.outcome.as_str().to_string(),
            detail: Value::Object(e.detail),
            prev_hash,
            hash: [0; 32],
        };
        let detail = canonical_detail(&ev.detail);
        ev.hash = Sha256::digest(ev.canonical_bytes_with(&detail)).into();
        (ev, detail)
    }

    /// The bytes the chain hash and the Merkle leaf cover.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        self.canonical_bytes_with(&canonical_detail(&self.detail))
    }

    /// The canonical bytes around `detail`, already in canonical JSON.
    /// Written straight into one buffer: the keys are fixed identifiers
    /// (no escaping), in sorted order.
    fn canonical_bytes_with(&self, detail: &str) -> Vec<u8> {
        let mut out = String::with_capacity(320 + detail.len());
        out.push_str("{\"actor\":");
        push_json_str(&mut out, &self.actor);
        out.push_str(",\"at\":");
        push_json_str(&mut out, &rfc3339(self.at));
        out.push_str(",\"call_id\":");
        push_opt(&mut out, self.call_id.as_deref());
        out.push_str(",\"challenge_id\":");
        push_opt(&mut out, self.challenge_id.as_deref());
        out.push_str(",\"detail\":");
        out.push_str(detail);
        out.push_str(",\"grant_id\":");
        push_opt(&mut out, self.grant_id.as_deref());
        out.push_str(",\"kind\":");
        push_json_str(&mut out, &self.kind);
        out.push_str(",\"org_id\":");
        push_opt(&mut out, self.org_id.as_deref());
        out.push_str(",\"outcome\":");
        push_json_str(&mut out, &self.outcome);
        out.push_str(",\"prev_hash\":\"");
        out.push_str(&hex::encode(self.prev_hash));
        out.push_str("\",\"seq\":");
        out.push_str(&self.seq.to_string());
        out.push('}');
        out.into_bytes()
    }

    /// Chain hash: SHA-256 of the canonical bytes (which include `prev_hash`).
    pub fn compute_hash(&self) -> Hash {
        Sha256::digest(self.canonical_bytes()).into()
    }

    /// The JSON shape of the API and of JSONL exports.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "seq": self.seq,
            "at": rfc3339(self.at),
            "kind": self.kind,
            "actor": self.actor,
            "org_id": self.org_id,
            "call_id": self.call_id,
            "challenge_id": self.challenge_id,
            "grant_id": self.grant_id,
            "outcome": self.outcome,
            "detail": self.detail,
            "prev_hash": hex::encode(self.prev_hash),
            "hash": hex::encode(self.hash),
        })
    }

    /// Reads an event back from its JSON shape (offline verification of an
    /// export). Hashes are taken as written; the verifier recomputes them.
    pub fn from_json(v: &Value) -> Result<Event, String> {
        let s = |k: &str| -> Result<String, String> {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("field {k} missing or not a string"))
        };
        let o = |k: &str| -> Result<Option<String>, String> {
            match v.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("field {k} is not a string")),
            }
        };
        let h = |k: &str| -> Result<Hash, String> {
            let text = s(k)?;
            let bytes = hex::decode(&text).map_err(|_| format!("field {k} is not hex"))?;
            bytes
                .try_into()
                .map_err(|_| format!("field {k} is not 32 bytes"))
        };
        let at_text = s("at")?;
        Ok(Event {
            seq: v
                .get("seq")
                .and_then(Value::as_i64)
                .ok_or("field seq missing or not an integer")?,
            at: crate::clock::parse_rfc3339(&at_text).ok_or("field at is not RFC 3339")?,
            kind: s("kind")?,
            actor: s("actor")?,
            org_id: o("org_id")?,
            call_id: o("call_id")?,
            challenge_id: o("challenge_id")?,
            grant_id: o("grant_id")?,
            outcome: s("outcome")?,
            detail: v
                .get("detail")
                .cloned()
                .unwrap_or(Value::Object(Map::new())),
            prev_hash: h("prev_hash")?,
            hash: h("hash")?,
        })
    }
}

fn canonical_detail(detail: &Value) -> String {
    let mut out = String::with_capacity(160);
    push_canonical(&mut out, detail);
    out
}

fn push_opt(out: &mut String, v: Option<&str>) {
    match v {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

/// `s` as a JSON string, exactly as serde_json writes it. serde_json
/// escapes only `"`, `\\` and control characters; a string without them
/// (nearly every one here) is copied between quotes, and any other goes
/// through serde_json itself, so the bytes never depend on this shortcut.
fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(&Value::String(s.to_owned()).to_string());
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// JSON with object keys sorted bytewise at every depth, no whitespace.
pub fn push_canonical(out: &mut String, v: &Value) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_str(out, k);
                out.push(':');
                push_canonical(out, v);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_canonical(out, item);
            }
            out.push(']');
        }
        Value::String(s) => push_json_str(out, s),
        // Numbers, booleans and null have one serde_json form each.
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests;
