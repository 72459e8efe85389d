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
mod tests {
    use super::*;

    #[test]
    fn only_a_validated_a_is_full_attestation() {
        assert_eq!(attestation(Some("A"), Some("true")), Attestation::Full);
        assert_eq!(attestation(Some("A"), Some("True")), Attestation::Full);
        assert_eq!(attestation(Some("B"), Some("true")), Attestation::Partial);
        assert_eq!(attestation(Some("C"), Some("true")), Attestation::Partial);
        for (level, validated) in [
            (Some("A"), Some("false")),
            (Some("A"), None),
            (None, Some("true")),
            (Some("a"), Some("true")),
            (Some("X"), Some("true")),
        ] {
            assert_eq!(
                attestation(level, validated),
                Attestation::Unverified,
                "{level:?} {validated:?}"
            );
        }
    }

    #[test]
    fn final_statuses_only() {
        assert_eq!(call_end("no-answer"), Some(CallEnd::NoAnswer));
        assert_eq!(call_end("in-progress"), None);
        assert_eq!(
            delivery_outcome("delivery_failed"),
            Some(DeliveryOutcome::Undelivered)
        );
        assert_eq!(
            delivery_outcome("sending_failed"),
            Some(DeliveryOutcome::Failed)
        );
        for interim in ["queued", "sending", "sent", "delivery_unconfirmed", ""] {
            assert_eq!(delivery_outcome(interim), None, "{interim}");
        }
    }
}
