//! Telnyx's words in neutral terms: its SHAKEN/STIR report, its final call
//! statuses (TeXML's `CallStatus`) and its message statuses.

use crate::domain::message::DeliveryOutcome;
use crate::domain::verification::{Attestation, CallEnd};

/// `ShakenStirAttestation` with `ShakenStirValidated`: `A` validated is
/// full attestation, `B` or `C` validated partial; anything not validated
/// (or not reported) is none.
pub fn attestation(level: Option<&str>, validated: Option<&str>) -> Attestation {
    let validated = validated.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    match level.map(str::trim) {
        Some("A") if validated => Attestation::Full,
        Some("B" | "C") if validated => Attestation::Partial,
        _ => Attestation::Unverified,
    }
}

/// TeXML `CallStatus`: a final one ends the call.
pub fn call_end(call_status: &str) -> Option<CallEnd> {
    match call_status {
        "completed" => Some(CallEnd::Completed),
        "busy" => Some(CallEnd::Busy),
        "failed" => Some(CallEnd::Failed),
        "no-answer" => Some(CallEnd::NoAnswer),
        "canceled" => Some(CallEnd::Canceled),
        _ => None,
    }
}

/// A recipient's `status` in a Messaging API v2 event: `delivered`, or the
/// carrier refused it (`delivery_failed`), or Telnyx could not send it
/// (`sending_failed`); `queued`, `sending`, `sent` and
/// `delivery_unconfirmed` are not final answers.
pub fn delivery_outcome(status: &str) -> Option<DeliveryOutcome> {
    match status {
        "delivered" => Some(DeliveryOutcome::Delivered),
        "delivery_failed" => Some(DeliveryOutcome::Undelivered),
        "sending_failed" => Some(DeliveryOutcome::Failed),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
