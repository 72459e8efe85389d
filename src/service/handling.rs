//! Who handles a call: claimed by the first agent who acts on it, taken
//! over explicitly (`calls::take`) and audited. The rule is
//! `domain::handling`; this applies it under the call's lock, and audits
//! refusals; a takeover ends the previous agent's grants on the call. A
//! leaf: the use cases on a call use it.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::handling::{Acting, may_act};
use crate::store::WriteTx;
use crate::store::calls::{self, CallRow};
use crate::store::grants::{self, GrantRow};
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

/// A takeover by `by` ends `previous`'s open grants on the call (locked in
/// `tx`), audited in the takeover's transaction.
pub(crate) async fn end_grants_of(
    tx: &mut WriteTx,
    call_id: &str,
    previous: &str,
    by: &Principal,
) -> ServiceResult<()> {
    let now = tx.now();
    let actor = by.actor();
    let ended = grants::revoke_on_call(tx.conn(), call_id, previous, &actor, now).await?;
    audit_revoked(tx, &actor, &ended, "call_taken_over");
    Ok(())
}

/// One `grant_revoked` event per grant a change ended, with its reason.
pub(crate) fn audit_revoked(tx: &mut WriteTx, actor: &str, ended: &[GrantRow], reason: &str) {
    for g in ended {
        tx.audit(
            NewEvent::new(EventKind::GrantRevoked, actor, Outcome::Success)
                .org(&g.org_id)
                .call(&g.call_id)
                .grant(&g.id)
                .detail("reason", reason),
        );
    }
}
