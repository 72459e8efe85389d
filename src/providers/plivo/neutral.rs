//! Plivo's words in neutral terms: its numbers (digits without `+`), its
//! final call statuses (the hangup callback's `CallStatus`) and its
//! message statuses. Plivo reports no caller-ID attestation, so a Plivo
//! call is always `Attestation::Unverified`.

use crate::domain::message::DeliveryOutcome;
use crate::domain::verification::{Attestation, CallEnd};

/// Plivo does not report SHAKEN/STIR: registered callers need a PIN unless
/// `security.caller_id_trust = "any"`.
pub const ATTESTATION: Attestation = Attestation::Unverified;

/// Plivo sends `14155550100` for `+14155550100`: a number of 1 to 15
/// digits gains its `+`; anything else (a SIP URI, `anonymous`, an already
/// plus-prefixed number) is left for caller classification as it came.
pub fn e164(number: &str) -> String {
    let n = number.trim();
    if (1..=15).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// The hangup callback's `CallStatus`: a final one ends the call. Plivo
/// says `timeout` for a call that rang out and `cancel` for one the
/// caller abandoned.
pub fn call_end(call_status: &str) -> Option<CallEnd> {
    match call_status {
        "completed" => Some(CallEnd::Completed),
        "busy" => Some(CallEnd::Busy),
        "failed" => Some(CallEnd::Failed),
        "no-answer" | "timeout" => Some(CallEnd::NoAnswer),
        "cancel" | "canceled" | "cancelled" => Some(CallEnd::Canceled),
        _ => None,
    }
}

/// A message callback's `Status`: `delivered`, or the carrier refused it
/// (`undelivered`), or Plivo could not send it (`failed`, `rejected`);
/// `queued` and `sent` are not final answers.
pub fn delivery_outcome(status: &str) -> Option<DeliveryOutcome> {
    match status {
        "delivered" => Some(DeliveryOutcome::Delivered),
        "undelivered" => Some(DeliveryOutcome::Undelivered),
        "failed" | "rejected" => Some(DeliveryOutcome::Failed),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
