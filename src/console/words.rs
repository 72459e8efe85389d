//! Plain words for what the service says: verdicts and their reasons,
//! challenge and delivery states, and refusals. Presentation only; the
//! decisions themselves are the service's.

use axum::http::StatusCode;

use crate::domain::verification::{Attestation, ChallengeStatus, Verification};
use crate::service::ServiceError;
use crate::store::calls::CallRow;
use crate::store::messages::MessageRow;

/// A label and its tone (the CSS class that repeats it in colour).
pub struct Badge {
    pub text: &'static str,
    pub tone: &'static str,
}

pub fn verdict(v: Verification) -> Badge {
    match Some(v) {
        Some(Verification::TrustedNumber) => Badge {
            text: "Trusted number",
            tone: "ok",
        },
        Some(Verification::PinRequired) => Badge {
            text: "PIN required",
            tone: "warn",
        },
        Some(Verification::Verified) => Badge {
            text: "Verified",
            tone: "ok",
        },
        Some(Verification::Failed) => Badge {
            text: "Failed",
            tone: "bad",
        },
        None => Badge {
            text: "Unknown",
            tone: "info",
        },
    }
}

/// `TN-Validation-Passed-B` → "B".
pub fn attestation(a: Option<&str>) -> String {
    match a.map(str::trim) {
        None | Some("") => "none".into(),
        Some(a) => match a.strip_prefix("TN-Validation-Passed-") {
            Some(level) => level.to_string(),
            None if a.starts_with("TN-Validation-Failed") => "failed".into(),
            None => a.chars().take(40).collect(),
        },
    }
}

pub fn caller(c: &CallRow) -> String {
    if c.caller_kind == "withheld" {
        "Withheld".into()
    } else {
        c.from_raw.chars().take(80).collect()
    }
}

pub fn caller_kind(kind: &str) -> &'static str {
    match kind {
        "e164" => "phone number",
        "withheld" => "withheld",
        "client" => "app client",
        "sip" => "SIP address",
        _ => "other",
    }
}

/// Why the call has its verdict, e.g. "registered number, attestation B:
/// PIN required". `registered` says whether the caller's number is one of
/// the attached org's.
pub fn reason(c: &CallRow, org_name: Option<&str>, registered: bool) -> String {
    let level = attestation(c.attestation.as_deref());
    let verdict = verdict(c.verification).text;
    let why = match (c.caller_kind.as_str(), org_name) {
        ("withheld", _) => "caller ID withheld".to_string(),
        ("e164", None) => "organisation not known yet".to_string(),
        ("e164", Some(name)) if registered => {
            if c.attestation_level == Attestation::Full {
                format!("number registered to {name}, attestation A")
            } else {
                format!("number registered to {name}, attestation {level}")
            }
        }
        ("e164", Some(name)) => format!("number not registered to {name}"),
        (kind, _) => format!("caller is a {}, not a phone number", caller_kind(kind)),
    };
    match Some(c.verification) {
        Some(Verification::Verified) => format!("{why}; the caller read back the PIN: {verdict}"),
        Some(Verification::Failed) => {
            format!("{why}; too many wrong PINs: {verdict}, no more PINs on this call")
        }
        _ => format!("{why}: {verdict}"),
    }
}

pub fn challenge_status(s: ChallengeStatus) -> Badge {
    match s {
        ChallengeStatus::Pending => Badge {
            text: "Waiting for the PIN",
            tone: "info",
        },
        ChallengeStatus::Approved => Badge {
            text: "Approved",
            tone: "ok",
        },
        ChallengeStatus::Expired => Badge {
            text: "Expired",
            tone: "bad",
        },
        ChallengeStatus::Locked => Badge {
            text: "Locked",
            tone: "bad",
        },
        ChallengeStatus::Cancelled => Badge {
            text: "Cancelled",
            tone: "warn",
        },
        ChallengeStatus::Superseded => Badge {
            text: "Replaced",
            tone: "warn",
        },
    }
}

/// A message's delivery state with its error class, never the provider's
/// text (which can name the full address): (status, label, tone, class).
const DELIVERY: &[(&str, &str, &str, Option<&str>)] = &[
    ("queued", "Queued", "info", None),
    ("sending", "Sending", "info", None),
    ("sent", "Sent", "ok", None),
    ("delivered", "Delivered", "ok", None),
    (
        "undelivered",
        "Undelivered",
        "bad",
        Some("the carrier could not deliver it"),
    ),
    (
        "failed",
        "Failed",
        "bad",
        Some("permanent error: the server or provider refused it"),
    ),
    (
        "dead",
        "Failed",
        "bad",
        Some("temporary errors until the retries ran out"),
    ),
    (
        "cancelled",
        "Not sent",
        "warn",
        Some("the verification ended first"),
    ),
];

pub fn delivery(m: &MessageRow) -> (Badge, Option<&'static str>) {
    if m.status.as_str() == "queued" && m.attempts > 0 {
        return (
            Badge {
                text: "Queued",
                tone: "warn",
            },
            Some("temporary error; retrying"),
        );
    }
    DELIVERY
        .iter()
        .find(|(status, ..)| *status == m.status.as_str())
        .map_or(
            (
                Badge {
                    text: "Unknown",
                    tone: "info",
                },
                None,
            ),
            |(_, text, tone, class)| (Badge { text, tone }, *class),
        )
}

pub fn channel(c: &str) -> &'static str {
    match c {
        "email" => "email",
        "sms" => "SMS",
        _ => "other",
    }
}

/// A refusal in words, with its status code. Internal causes are logged,
/// not shown.
pub fn service_error(e: &ServiceError) -> (StatusCode, String) {
    match e {
        ServiceError::NotFound(what) => {
            (StatusCode::NOT_FOUND, format!("There is no such {what}."))
        }
        ServiceError::Conflict {
            status,
            detail,
            kind,
        } => (
            StatusCode::CONFLICT,
            match (status.as_deref(), *kind) {
                (Some("expired"), _) => "This PIN has expired. Send a new PIN.".into(),
                (Some("locked"), _) => {
                    "Too many wrong PINs: verification by PIN is locked for this caller.".into()
                }
                (Some("cancelled"), _) => "This verification was cancelled.".into(),
                (Some("superseded"), _) => {
                    "A newer PIN replaced this one: use the latest PIN.".into()
                }
                (Some("approved"), _) => "This PIN was already accepted.".into(),
                (_, "call-ended") => "The call has ended.".into(),
                _ => sentence(detail),
            },
        ),
        ServiceError::HandledByOther { handler } => (
            StatusCode::CONFLICT,
            format!("{handler} is handling this call. Take it over to act on it."),
        ),
        ServiceError::GrantExists { .. } => (
            StatusCode::CONFLICT,
            "You already have access on this call.".into(),
        ),
        ServiceError::Forbidden(d) => (StatusCode::FORBIDDEN, sentence(d)),
        ServiceError::Invalid { message, .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, sentence(message))
        }
        ServiceError::InvalidMany(errs) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errs.iter()
                .map(|e| sentence(&format!("{}: {}", e.field, e.message)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ServiceError::TooMany {
            retry_after_secs, ..
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Limit reached: too many requests of this kind for now. Try again in {}.",
                wait(*retry_after_secs)
            ),
        ),
        ServiceError::Unavailable { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is busy. Try again in a moment.".into(),
        ),
        ServiceError::Store(_) | ServiceError::Internal(_) => {
            tracing::error!(error = %e, "console request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on the server. Try again; if it keeps happening, tell an administrator.".into(),
            )
        }
    }
}

fn sentence(s: &str) -> String {
    let mut out: String = s.chars().take(300).collect();
    if let Some(first) = out.get(..1) {
        out = first.to_uppercase() + &out[1..];
    }
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

pub fn wait(secs: u64) -> String {
    match secs {
        0..=90 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

/// The support line and severity the caller chose, and whether the call
/// came inside the line's hours ("technical, severity A", "billing, after
/// hours"); "—" when the desk has no lines or the caller chose none yet.
pub fn line(line: Option<&str>, severity: Option<&str>, inside_hours: Option<i64>) -> String {
    let Some(line) = line else {
        return "—".to_string();
    };
    let mut out = line.to_string();
    if let Some(s) = severity {
        out.push_str(&format!(", severity {s}"));
    }
    if inside_hours == Some(0) {
        out.push_str(", after hours");
    }
    out
}

#[cfg(test)]
mod tests;
