//! Cancelling a verification: the agent ends a pending challenge (the
//! caller hung up on the agent, or asked to stop). Its queued PIN is wiped
//! and the step audited; the API and the console both call this.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::challenge::{Ending, Step};
use crate::domain::verification::ChallengeStatus;
use crate::store::challenges::{self, ChallengeRow};
use crate::store::messages;
use crate::store::principals::Principal;

use super::challenges::{effective_status, load, not_pending};
use super::{ServiceError, ServiceResult};

/// Ends a pending challenge, by the agent handling its call.
pub async fn cancel(
    state: &AppState,
    agent: &Principal,
    challenge_id: &str,
) -> ServiceResult<ChallengeRow> {
    let row = load(state, challenge_id).await?;
    let result = cancel_row(state, agent, &row).await;
    super::handling::audited(state, agent, &row.call_id, "cancel", result).await
}

async fn cancel_row(
    state: &AppState,
    agent: &Principal,
    row: &ChallengeRow,
) -> ServiceResult<ChallengeRow> {
    let challenge_id = row.id.as_str();
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    // The call first, as every write on a call and its challenges takes it.
    let call = super::calls::lock_call(&mut tx, &row.call_id).await?;
    super::handling::act_on(&mut tx, &call, agent).await?;
    let pending = effective_status(row, now) == ChallengeStatus::Pending;
    if !pending
        || challenges::apply(tx.conn(), &row.id, Step::End(Ending::Cancelled), now)
            .await?
            .is_none()
    {
        drop(tx);
        let current = load(state, challenge_id).await?;
        return Err(not_pending(effective_status(&current, now)));
    }
    messages::wipe_for_challenge(tx.conn(), &row.id, now).await?;
    tx.audit(
        NewEvent::new(
            EventKind::ChallengeCancelled,
            agent.actor(),
            Outcome::Success,
        )
        .org(&row.org_id)
        .call(&row.call_id)
        .challenge(&row.id)
        .detail("reason", "agent"),
    );
    tx.commit().await?;
    challenges::get(state.store.reader(), challenge_id)
        .await?
        .ok_or(ServiceError::NotFound("challenge"))
}
