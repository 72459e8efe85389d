//! A provider's delivery report arriving by webhook: applied as one write,
//! kept for later when the send is not recorded yet, and followed by the
//! PIN on the org's other channel when the PIN failed.

use crate::app::AppState;
use crate::delivery::reports::{self, DeliveryReport};
use crate::store::messages::{self, MessageRow};
use crate::store::{LockSpace, WriteTx};

use super::ServiceResult;

/// Applies `report` from `provider` (see [`reports::apply`]), as a job on
/// the writer: a report comes for every SMS sent.
pub async fn receive(
    state: &AppState,
    provider: &str,
    report: DeliveryReport,
) -> ServiceResult<()> {
    let now = state.clock.now_ms();
    let actor = format!("provider:{provider}");
    let moved = state
        .store
        .write(now, move |tx| {
            Box::pin(async move { apply_or_keep(tx, &report, &actor).await })
        })
        .await?;
    if let Some(m) = moved
        && reports::calls_for_fallback(&m)
        && let Some(challenge) = &m.challenge_id
    {
        super::resend::auto_fallback(state, challenge, m.channel).await;
    }
    Ok(())
}

/// Applies the report to its send, or keeps it for the send to meet.
async fn apply_or_keep(
    tx: &mut WriteTx,
    report: &DeliveryReport,
    actor: &str,
) -> ServiceResult<Option<MessageRow>> {
    // The worker may be recording this send right now (see delivery::worker).
    tx.serialize_on(LockSpace::ProviderMessage, &report.provider_message_id)
        .await?;
    let moved = reports::apply(tx, report, actor).await?;
    if moved.is_none() {
        let now = tx.now();
        // The provider can call back before the worker recorded the send.
        messages::keep_early_report(
            tx.conn(),
            &report.provider_message_id,
            report.outcome,
            report.error_code.as_deref(),
            now,
        )
        .await?;
    }
    Ok(moved)
}
