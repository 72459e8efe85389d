//! Who handles a call: claimed by the first agent who acts on it, taken
//! over explicitly and audited. The rule is `domain::handling`; this applies
//! it under the call's lock, and audits refusals.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::handling::{Acting, Takeover, may_act, take_over};
use crate::store::WriteTx;
use crate::store::calls::{self, CallRow};
use crate::store::principals::Principal;

use super::{ServiceError, ServiceResult};

/// `agent` acts on `call` (locked in `tx`): claims it if nobody handles it,
/// refuses if another agent does.
pub(crate) async fn act_on(
    tx: &mut WriteTx,
    call: &CallRow,
    agent: &Principal,
) -> ServiceResult<()> {
    match may_act(call.handled_by.as_deref(), &agent.name) {
        Acting::Proceed => Ok(()),
        Acting::Claim => {
            let now = tx.now();
            calls::set_handler(tx.conn(), &call.id, &agent.name, now).await?;
            Ok(())
        }
        Acting::Refuse { handler } => Err(ServiceError::HandledByOther {
            handler: handler.to_string(),
        }),
    }
}

/// Refuses before any work when another agent handles the call as read;
/// `act_on` decides again under the lock.
pub(crate) fn ensure_may_act(call: &CallRow, agent: &Principal) -> ServiceResult<()> {
    match may_act(call.handled_by.as_deref(), &agent.name) {
        Acting::Refuse { handler } => Err(ServiceError::HandledByOther {
            handler: handler.to_string(),
        }),
        Acting::Claim | Acting::Proceed => Ok(()),
    }
}

/// Audits a refusal because another agent handles the call (in its own
/// transaction: the refused one is over) and hands the result back.
pub(crate) async fn audited<T>(
    state: &AppState,
    agent: &Principal,
    call_id: &str,
    action: &str,
    result: ServiceResult<T>,
) -> ServiceResult<T> {
    if let Err(ServiceError::HandledByOther { handler }) = &result {
        let audit = async {
            let mut tx = state.store.begin(state.clock.now_ms()).await?;
            tx.audit(
                NewEvent::new(EventKind::AuthzFail, agent.actor(), Outcome::Failure)
                    .call(call_id)
                    .detail("action", action)
                    .detail("handled_by", handler.as_str()),
            );
            tx.commit().await
        };
        if let Err(e) = audit.await {
            tracing::warn!(error = %e, "could not audit a refused action on a call");
        }
    }
    result
}

/// `POST /v1/calls/{id}/take`: `agent` handles the call from now on. The
/// call's open challenge stays as it is, its spent attempts with it.
pub async fn take(state: &AppState, agent: &Principal, call_id: &str) -> ServiceResult<CallRow> {
    let mut tx = state.store.begin(state.clock.now_ms()).await?;
    let call = super::calls::lock_call(&mut tx, call_id).await?;
    super::calls::ensure_active(&call)?;
    let previous = match take_over(call.handled_by.as_deref(), &agent.name) {
        Takeover::AlreadyHandling => return Ok(call),
        Takeover::Claim => None,
        Takeover::From { previous } => Some(previous.to_string()),
    };
    let now = tx.now();
    calls::set_handler(tx.conn(), &call.id, &agent.name, now).await?;
    tx.audit(
        NewEvent::new(EventKind::CallTaken, agent.actor(), Outcome::Success)
            .org_opt(call.org_id.clone())
            .call(&call.id)
            .detail("previous", previous.as_deref().unwrap_or("")),
    );
    tx.commit().await?;
    calls::get(state.store.reader(), call_id)
        .await?
        .ok_or(ServiceError::NotFound("call"))
}
