//! Vonage's words in neutral terms: its numbers (digits without `+`), its
//! final call statuses (the event webhook's `status`) and its delivery
//! receipts' statuses. Vonage reports no caller-ID attestation.

use crate::domain::message::DeliveryOutcome;
use crate::domain::verification::{Attestation, CallEnd};

/// Vonage gives no SHAKEN/STIR verdict: registered callers need a PIN
/// unless `security.caller_id_trust = "any"`.
pub const ATTESTATION: Attestation = Attestation::Unverified;

/// A number as Vonage writes it (`447700900000`) in E.164 (`+447700900000`);
/// anything that is not all digits (`Unknown`, a SIP URI, an app user) is
/// left as it came, for caller classification to judge.
pub fn e164(number: &str) -> String {
    let n = number.trim();
    if !n.is_empty() && n.len() <= 15 && n.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// The event webhook's `status`: a final one ends the call; `started`,
/// `ringing`, `answered`, `disconnected` and the rest do not.
pub fn call_end(status: &str) -> Option<CallEnd> {
    match status {
        "completed" => Some(CallEnd::Completed),
        "busy" => Some(CallEnd::Busy),
        "failed" | "rejected" => Some(CallEnd::Failed),
        "timeout" | "unanswered" => Some(CallEnd::NoAnswer),
        "cancelled" => Some(CallEnd::Canceled),
        _ => None,
    }
}

/// An SMS API delivery receipt's `status`: `delivered`, the carrier gave
/// up (`expired`, `failed`) or refused it (`rejected`); `accepted`,
/// `buffered` and `unknown` are not final answers.
pub fn delivery_outcome(status: &str) -> Option<DeliveryOutcome> {
    match status {
        "delivered" => Some(DeliveryOutcome::Delivered),
        "expired" | "rejected" => Some(DeliveryOutcome::Undelivered),
        "failed" => Some(DeliveryOutcome::Failed),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
