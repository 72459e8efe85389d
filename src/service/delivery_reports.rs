//! A provider's delivery report arriving by webhook: applied in its own
//! transaction, kept for later when the send is not recorded yet, and
//! followed by the PIN on the org's other channel when the PIN failed.

use crate::app::AppState;
use crate::delivery::reports::{self, DeliveryReport};
use crate::store::{LockSpace, messages};

use super::ServiceResult;

/// Applies `report` from `provider` (see [`reports::apply`]).
pub async fn receive(
    state: &AppState,
    provider: &str,
    report: DeliveryReport,
) -> ServiceResult<()> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    // The worker may be recording this send right now (see delivery::worker).
    tx.serialize_on(LockSpace::ProviderMessage, &report.provider_message_id)
        .await?;
    let moved = reports::apply(&mut tx, &report, &format!("provider:{provider}")).await?;
    if moved.is_none() {
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
    tx.commit().await?;
    if let Some(m) = moved
        && reports::calls_for_fallback(&m)
        && let Some(challenge) = &m.challenge_id
    {
        super::resend::auto_fallback(state, challenge, m.channel).await;
    }
    Ok(())
}
