//! Database quotas and PIN lockouts, charged inside the transaction of the
//! action they limit: a refused action writes nothing but its audit event,
//! which names the quota.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::phone::E164;
use crate::ids;
use crate::store::quotas::{self, LockoutRow};
use crate::store::{LockSpace, WriteTx};

use super::{ServiceError, ServiceResult};

/// One quota to charge: its name (shown to clients and in the audit), the
/// key it counts per, and its limit per window.
pub struct Charge<'a> {
    pub quota: &'static str,
    pub key: &'a str,
    pub limit: u32,
}

/// Why an action was refused.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub quota: &'static str,
    pub retry_after_secs: u64,
}

fn window_ms(state: &AppState) -> i64 {
    state.settings.limits.window.0.as_millis() as i64
}

fn retry_after(now: i64, until: i64) -> u64 {
    ((until - now).max(1000) + 999) as u64 / 1000
}

/// Charges every quota; the first one over its limit refuses.
pub async fn charge(
    state: &AppState,
    tx: &mut WriteTx,
    charges: &[Charge<'_>],
) -> ServiceResult<Result<(), Refusal>> {
    let now = tx.now();
    let w = window_ms(state);
    for c in charges {
        let used = quotas::bump(tx.conn(), c.quota, c.key, w, now).await?;
        if used > i64::from(c.limit) {
            return Ok(Err(Refusal {
                quota: c.quota,
                retry_after_secs: retry_after(now, quotas::window_end(now, w)),
            }));
        }
    }
    Ok(Ok(()))
}

/// Counts a distinct member (an org an agent touched) against a limit.
pub async fn charge_distinct(
    state: &AppState,
    tx: &mut WriteTx,
    quota: &'static str,
    key: &str,
    member: &str,
    limit: u32,
) -> ServiceResult<Result<(), Refusal>> {
    let now = tx.now();
    let w = window_ms(state);
    let n = quotas::add_member(tx.conn(), quota, key, member, w, now).await?;
    if n > i64::from(limit) {
        return Ok(Err(Refusal {
            quota,
            retry_after_secs: retry_after(now, quotas::window_end(now, w)),
        }));
    }
    Ok(Ok(()))
}

/// Where a refusal is audited: who, and on what.
pub struct Context<'a> {
    pub actor: &'a str,
    pub org_id: Option<&'a str>,
    pub call_id: Option<&'a str>,
    pub challenge_id: Option<&'a str>,
}

/// Audits the refusal in its own transaction (the refused one was rolled
/// back) and turns it into the 429 the client sees.
pub async fn refused(state: &AppState, r: Refusal, ctx: Context<'_>) -> ServiceError {
    let result = async {
        let mut tx = state.store.begin(state.clock.now_ms()).await?;
        let mut ev = NewEvent::new(EventKind::RateLimitExceeded, ctx.actor, Outcome::Failure)
            .org_opt(ctx.org_id)
            .detail("quota", r.quota)
            .detail("retry_after_secs", r.retry_after_secs);
        if let Some(c) = ctx.call_id {
            ev = ev.call(c);
        }
        if let Some(c) = ctx.challenge_id {
            ev = ev.challenge(c);
        }
        tx.audit(ev);
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not audit a quota refusal");
    }
    metrics::counter!("pingate_quota_refusals_total", "quota" => r.quota).increment(1);
    ServiceError::TooMany {
        detail: format!("quota {} exceeded; try again later", r.quota),
        retry_after_secs: r.retry_after_secs,
    }
}

/// Who the failure budget and lockouts follow: the caller's number within
/// the org, or the call itself when there is no number to follow.
pub fn caller_key(caller_e164: Option<&str>, call_id: &str) -> String {
    match caller_e164 {
        Some(n) => n.to_string(),
        None => format!("call:{call_id}"),
    }
}

/// Key for counters per (org, caller).
pub fn org_caller(org_id: &str, caller_key: &str) -> String {
    format!("{org_id}|{caller_key}")
}

/// A lockout in force for this caller of this org, as a refusal.
pub async fn lockout_refusal(
    tx: &mut WriteTx,
    org_id: &str,
    caller_key: &str,
) -> ServiceResult<Option<Refusal>> {
    let now = tx.now();
    Ok(quotas::active_lockout(tx.conn(), org_id, caller_key, now)
        .await?
        .map(|l| Refusal {
            quota: "pin_lockout",
            retry_after_secs: retry_after(now, l.until),
        }))
}

/// Counts a wrong PIN against the caller's budget; locks PIN verification
/// for that caller when the budget is spent. Returns the lockout if one
/// started now.
pub async fn count_failure(
    state: &AppState,
    tx: &mut WriteTx,
    org_id: &str,
    caller_key: &str,
) -> ServiceResult<Option<LockoutRow>> {
    let now = tx.now();
    let l = &state.settings.limits;
    // Takes turns with a lockout reset for this org (see `reset`).
    tx.serialize_on(LockSpace::OrgPinFailures, org_id).await?;
    let failures = quotas::bump(
        tx.conn(),
        "pin_failures",
        &org_caller(org_id, caller_key),
        window_ms(state),
        now,
    )
    .await?;
    if failures < i64::from(l.failures_per_caller)
        || quotas::active_lockout(tx.conn(), org_id, caller_key, now)
            .await?
            .is_some()
    {
        return Ok(None);
    }
    let lockout = LockoutRow {
        id: ids::new_id("lck"),
        org_id: org_id.to_string(),
        caller_key: caller_key.to_string(),
        locked_at: now,
        until: now + l.lockout.0.as_millis() as i64,
        reset_at: None,
        reset_by: None,
    };
    quotas::insert_lockout(tx.conn(), &lockout).await?;
    Ok(Some(lockout))
}

/// Ends lockouts (`pingate lockout reset`, admin API) and forgets the
/// failures behind them. Audited.
pub async fn reset(
    state: &AppState,
    actor: &str,
    org_id: &str,
    caller: Option<&str>,
) -> ServiceResult<Vec<LockoutRow>> {
    let caller_key = match caller {
        None => None,
        Some(c) if c.starts_with("call:") => Some(c.to_string()),
        Some(c) => Some(
            E164::parse(c)
                .map_err(|e| ServiceError::invalid("caller", e.to_string()))?
                .as_str()
                .to_string(),
        ),
    };
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    // "0 reset" for an org id with a typo would read as success.
    if crate::store::orgs::get_on(tx.conn(), org_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::NotFound("organisation"));
    }
    // A check that is locking this caller out right now commits first, so
    // its lockout is one this reset sees and ends.
    tx.serialize_on(LockSpace::OrgPinFailures, org_id).await?;
    let ended =
        quotas::reset_lockouts(tx.conn(), org_id, caller_key.as_deref(), actor, now).await?;
    for l in &ended {
        quotas::clear(
            tx.conn(),
            "pin_failures",
            &org_caller(&l.org_id, &l.caller_key),
        )
        .await?;
        tx.audit(
            NewEvent::new(EventKind::LockoutReset, actor, Outcome::Success)
                .org(&l.org_id)
                .detail("lockout_id", l.id.as_str())
                .detail("caller", pseudonymous_key(state, &l.caller_key)),
        );
    }
    if let Some(k) = &caller_key
        && ended.is_empty()
    {
        // No lockout yet, but the operator wants the failures forgotten.
        quotas::clear(tx.conn(), "pin_failures", &org_caller(org_id, k)).await?;
    }
    tx.commit().await?;
    Ok(ended)
}

/// A caller key as the audit trail may show it.
pub fn pseudonymous_key(state: &AppState, caller_key: &str) -> String {
    if caller_key.starts_with('+') {
        state.pseudonyms.number(caller_key)
    } else {
        caller_key.to_string()
    }
}
