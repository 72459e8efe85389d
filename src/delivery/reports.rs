//! Delivery reports: a provider saying what became of a message it
//! accepted. [`apply`] is the one place a report moves a message and is
//! audited; the message-status webhook (through `service::delivery_reports`)
//! and the outbox worker (for a report that came in before its commit)
//! both call it.

use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::message::{DeliveryOutcome, MessageKind, MessageStatus};
use crate::store::messages::{self, MessageRow};
use crate::store::{StoreResult, WriteTx};

/// A provider's final delivery report, in neutral terms: each provider's
/// adapter builds one from its own webhook and drops reports that are not
/// final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub provider_message_id: String,
    pub outcome: DeliveryOutcome,
    /// The provider's own word ("delivered", "read", "delivery_failed", …),
    /// kept for the audit trail only.
    pub provider_status: String,
    pub error_code: Option<String>,
}

impl DeliveryReport {
    /// The status the report moves a sent message to.
    pub fn target(&self) -> MessageStatus {
        self.outcome.status()
    }
}

/// Moves the sent message the report names forward (only forward) and
/// audits it, inside `tx`; `actor` is who is applying it. Returns the
/// message when it moved; a report that is repeated, late or for an id we have not recorded changes nothing.
pub async fn apply(
    tx: &mut WriteTx,
    report: &DeliveryReport,
    actor: &str,
) -> StoreResult<Option<MessageRow>> {
    let target = report.target();
    let now = tx.now();
    let moved = messages::advance_provider_status(
        tx.conn(),
        &report.provider_message_id,
        target,
        report.error_code.as_deref(),
        now,
    )
    .await?;
    if let Some(m) = &moved {
        tx.audit(reported_event(m, report, actor));
    }
    Ok(moved)
}

fn reported_event(m: &MessageRow, report: &DeliveryReport, actor: &str) -> NewEvent {
    let outcome = if m.status.failed_for_good() {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let mut ev = NewEvent::new(EventKind::MessageDeliveryReported, actor, outcome)
        .org(&m.org_id)
        .detail("message_id", m.id.as_str())
        .detail("channel", m.channel.as_str())
        .detail("provider_status", report.provider_status.as_str());
    if let Some(code) = &report.error_code {
        ev = ev.detail("error_code", code.as_str());
    }
    if let Some(c) = &m.call_id {
        ev = ev.call(c);
    }
    if let Some(c) = &m.challenge_id {
        ev = ev.challenge(c);
    }
    ev
}

/// A PIN message that will not arrive: the org's other channel should be
/// tried (`delivery.auto_fallback`).
pub fn calls_for_fallback(m: &MessageRow) -> bool {
    m.kind == MessageKind::Pin && m.status.failed_for_good() && m.challenge_id.is_some()
}
