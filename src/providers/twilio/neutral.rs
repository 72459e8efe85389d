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
mod tests;
