//! Twilio's words in neutral terms: its STIR/SHAKEN verdict, its final
//! call statuses and its message statuses.

use crate::domain::message::DeliveryOutcome;
use crate::domain::verification::{Attestation, CallEnd};

/// `StirVerstat`: `TN-Validation-Passed-A` is full attestation, `-B` and
/// `-C` partial; failures, `No-TN-Validation` and nothing are none.
pub fn attestation(stir_verstat: Option<&str>) -> Attestation {
    match stir_verstat.map(str::trim) {
        Some("TN-Validation-Passed-A") => Attestation::Full,
        Some("TN-Validation-Passed-B" | "TN-Validation-Passed-C") => Attestation::Partial,
        _ => Attestation::Unverified,
    }
}

/// `CallStatus` of a status callback: a final one ends the call; the
/// others (queued, ringing, in-progress, initiated) report nothing.
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

/// `MessageStatus` of a delivery report; interim ones report nothing.
pub fn delivery_outcome(message_status: &str) -> Option<DeliveryOutcome> {
    match message_status {
        "delivered" | "read" => Some(DeliveryOutcome::Delivered),
        "undelivered" => Some(DeliveryOutcome::Undelivered),
        "failed" => Some(DeliveryOutcome::Failed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passed_a_is_full_attestation() {
        assert_eq!(
            attestation(Some("TN-Validation-Passed-A")),
            Attestation::Full
        );
        assert_eq!(
            attestation(Some(" TN-Validation-Passed-A ")),
            Attestation::Full
        );
        for partial in ["TN-Validation-Passed-B", "TN-Validation-Passed-C"] {
            assert_eq!(attestation(Some(partial)), Attestation::Partial);
        }
        for none in [
            None,
            Some("No-TN-Validation"),
            Some("TN-Validation-Failed-A"),
            Some(""),
        ] {
            assert_eq!(attestation(none), Attestation::Unverified, "{none:?}");
        }
    }

    #[test]
    fn final_call_statuses_end_the_call() {
        for s in ["completed", "busy", "failed", "no-answer", "canceled"] {
            assert_eq!(call_end(s).map(CallEnd::as_str), Some(s));
        }
        for s in ["queued", "ringing", "in-progress", "initiated", ""] {
            assert_eq!(call_end(s), None, "{s}");
        }
    }

    #[test]
    fn final_reports_move_a_message_and_others_do_not() {
        assert_eq!(delivery_outcome("read"), Some(DeliveryOutcome::Delivered));
        assert_eq!(
            delivery_outcome("undelivered"),
            Some(DeliveryOutcome::Undelivered)
        );
        for interim in ["queued", "sending", "sent", "accepted", ""] {
            assert_eq!(delivery_outcome(interim), None, "{interim}");
        }
    }
}
