//! Database quotas and PIN lockouts, charged inside the transaction of the
//! action they limit: a refused action writes nothing but its audit event,
//! which names the quota.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::config::LimitsSettings;
use crate::domain::phone::E164;
use crate::domain::string_enum::string_enum;
use crate::hash_gate::{Busy, Ticket};
use crate::ids;
use crate::store::overrides;
use crate::store::quotas::{self, Counting, LockoutRow, Use};
use crate::store::{LockSpace, WriteTx};

use super::{ServiceError, ServiceResult};

string_enum! {
    /// A database quota, by the name clients and the audit trail see.
    pub Quota {
        ChallengesPerCaller => "challenges_per_caller",
        ChallengesPerOrg => "challenges_per_org",
        ChallengesPerAgent => "challenges_per_agent",
        SendsPerDestination => "sends_per_destination",
        SmsGlobal => "sms_global",
        OrgsPerAgent => "orgs_per_agent",
        ChecksPerCaller => "checks_per_caller",
        ChecksPerOrg => "checks_per_org",
        ChecksPerAgent => "checks_per_agent",
        /// Not counted: a lockout in force refuses under this name.
        PinLockout => "pin_lockout",
        /// Wrong PINs per (org, caller); reaching the limit locks out.
        PinFailures => "pin_failures",
        /// Wrong PINs per org from callers with a number; reaching it
        /// refuses new PIN challenges for the org.
        OrgPinFailures => "org_pin_failures",
        /// Not counted: an org whose ceiling is reached refuses under it.
        OrgFailureCeiling => "org_failure_ceiling",
        /// IVR account-number attempts per caller, withheld callers
        /// together, and per account number.
        AccountTriesPerCaller => "account_tries_per_caller",
        AccountTriesWithheld => "account_tries_withheld",
        AccountTriesPerNumber => "account_tries_per_number",
        /// Not counted here: the argon2 pool's cap per principal
        /// (`pin.hash_per_principal`, in memory) refuses under this name.
        HashPerPrincipal => "hash_per_principal",
        /// Not counted here: a full argon2 queue (`pin.hash_queue`).
        HashQueue => "hash_queue",
    }
}

impl Quota {
    /// Its limit per window.
    pub fn limit(self, l: &LimitsSettings) -> u32 {
        match self {
            Quota::ChallengesPerCaller => l.challenges_per_caller,
            Quota::ChallengesPerOrg => l.challenges_per_org,
            Quota::ChallengesPerAgent => l.challenges_per_agent,
            Quota::SendsPerDestination => l.sends_per_destination,
            Quota::SmsGlobal => l.sms_global,
            Quota::OrgsPerAgent => l.orgs_per_agent,
            Quota::ChecksPerCaller => l.checks_per_caller,
            Quota::ChecksPerOrg => l.checks_per_org,
            Quota::ChecksPerAgent => l.checks_per_agent,
            Quota::PinLockout => 0,
            Quota::PinFailures => l.failures_per_caller,
            Quota::OrgPinFailures => l.failures_per_org,
            Quota::OrgFailureCeiling => 0,
            Quota::AccountTriesPerCaller => l.account_tries_per_caller,
            Quota::AccountTriesWithheld => l.account_tries_withheld,
            Quota::AccountTriesPerNumber => l.account_tries_per_number,
            Quota::HashPerPrincipal | Quota::HashQueue => 0,
        }
    }

    /// Spent by the whole org: an admin override lifts these.
    fn org_wide(self) -> bool {
        matches!(
            self,
            Quota::ChallengesPerOrg | Quota::ChecksPerOrg | Quota::OrgFailureCeiling
        )
    }
}

/// One quota to charge and the key it counts per.
pub struct Charge<'a> {
    pub quota: Quota,
    pub key: &'a str,
}

impl<'a> Charge<'a> {
    pub fn new(quota: Quota, key: &'a str) -> Self {
        Charge { quota, key }
    }
}

/// A distinct member (an org an agent touched) counted against a quota.
pub struct Distinct<'a> {
    pub quota: Quota,
    pub key: &'a str,
    pub member: &'a str,
}

impl<'a> Distinct<'a> {
    pub fn new(quota: Quota, key: &'a str, member: &'a str) -> Self {
        Distinct { quota, key, member }
    }
}

/// What an action must pass before it writes anything: no lockout in
/// force for the caller, the org's failure ceiling (new challenges), then
/// every quota, then the distinct-member quota. An admin override in force
/// for the org lifts its org-wide refusals.
#[derive(Default)]
pub struct Admission<'a> {
    /// (org, caller key) whose lockout refuses.
    pub lockout: Option<(&'a str, &'a str)>,
    /// Refuse when the org (of `lockout`) has reached its failure ceiling.
    pub ceiling: bool,
    pub charges: Vec<Charge<'a>>,
    pub distinct: Option<Distinct<'a>>,
}

/// Why an action was refused.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub quota: Quota,
    pub retry_after_secs: u64,
}

fn window_ms(state: &AppState) -> i64 {
    state.settings.limits.window.0.as_millis() as i64
}

fn retry_after(now: i64, until: i64) -> u64 {
    ((until - now).max(1000) + 999) as u64 / 1000
}

/// Runs the admission inside `tx` and hands the transaction back. A
/// refusal rolls `tx` back (the charges with it), is audited in a
/// transaction of its own, and becomes the 429 the client sees.
pub async fn admit(
    state: &AppState,
    mut tx: WriteTx,
    admission: Admission<'_>,
    ctx: Context<'_>,
) -> ServiceResult<WriteTx> {
    match refusal(state, &mut tx, &admission).await? {
        None => Ok(tx),
        Some(r) => {
            drop(tx);
            Err(refused(state, r, ctx).await)
        }
    }
}

async fn refusal(
    state: &AppState,
    tx: &mut WriteTx,
    admission: &Admission<'_>,
) -> ServiceResult<Option<Refusal>> {
    let now = tx.now();
    let org = admission.lockout.map(|(org, _)| org);
    if let Some((org_id, caller_key)) = admission.lockout
        && let Some(r) = lockout_refusal(tx, org_id, caller_key, Quota::PinLockout).await?
    {
        return Ok(Some(r));
    }
    let overridden = match org {
        Some(org) => overrides::active(tx.conn(), org, now).await?.is_some(),
        None => false,
    };
    if let Some(org_id) = org
        && admission.ceiling
        && !overridden
        && let Some(r) = lockout_refusal(tx, org_id, ORG_CEILING, Quota::OrgFailureCeiling).await?
    {
        return Ok(Some(r));
    }
    let w = window_ms(state);
    let limits = &state.settings.limits;
    let over = |quota: Quota, r: quotas::Rolling| {
        (r.used > i64::from(quota.limit(limits)) && !(overridden && quota.org_wide())).then(|| {
            Refusal {
                quota,
                retry_after_secs: retry_after(now, r.oldest + w),
            }
        })
    };
    let mut charged: Vec<Quota> = admission.charges.iter().map(|c| c.quota).collect();
    let mut uses: Vec<Use> = admission
        .charges
        .iter()
        .map(|c| counted(c.quota, c.key))
        .collect();
    if let Some(d) = &admission.distinct {
        charged.push(d.quota);
        uses.push(Use {
            scope: d.quota.as_str(),
            key: d.key,
            counting: Counting::Members(d.member),
        });
    }
    // All in one batch; the first over its limit, in the admission's
    // order, refuses (and the rollback takes every charge back).
    let counts = quotas::charge_all(tx.conn(), &uses, w, now).await?;
    Ok(charged
        .into_iter()
        .zip(counts)
        .find_map(|(q, r)| over(q, r)))
}

/// One use of `quota` by `key`, every use counted.
fn counted(quota: Quota, key: &str) -> Use<'_> {
    Use {
        scope: quota.as_str(),
        key,
        counting: Counting::Uses,
    }
}

/// Where a refusal is audited: who, and on what.
pub struct Context<'a> {
    pub actor: &'a str,
    pub org_id: Option<&'a str>,
    pub call_id: Option<&'a str>,
    pub challenge_id: Option<&'a str>,
}

impl<'a> Context<'a> {
    /// `actor` acting on nothing named yet.
    pub fn of(actor: &'a str) -> Self {
        Context {
            actor,
            org_id: None,
            call_id: None,
            challenge_id: None,
        }
    }

    /// `actor` acting on a call of an org (and on no challenge yet).
    pub fn on_call(actor: &'a str, org_id: &'a str, call_id: &'a str) -> Self {
        Context {
            actor,
            org_id: Some(org_id),
            call_id: Some(call_id),
            challenge_id: None,
        }
    }
}

/// Audits the refusal in its own transaction (the refused one was rolled
/// back) and turns it into the 429 the client sees.
async fn refused(state: &AppState, r: Refusal, ctx: Context<'_>) -> ServiceError {
    audit_refusal(state, &r, ctx).await;
    ServiceError::TooMany {
        detail: format!("quota {} exceeded; try again later", r.quota),
        retry_after_secs: r.retry_after_secs,
    }
}

/// Every refusal, database quota or hashing cap, is audited here once
/// (`excess_rate_limit_exceeded`, naming the quota) and counted.
async fn audit_refusal(state: &AppState, r: &Refusal, ctx: Context<'_>) {
    let result = async {
        let mut tx = state.store.begin(state.clock.now_ms()).await?;
        let mut ev = NewEvent::new(EventKind::RateLimitExceeded, ctx.actor, Outcome::Failure)
            .org_opt(ctx.org_id)
            .detail("quota", r.quota.as_str())
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
    metrics::counter!("pingate_quota_refusals_total", "quota" => r.quota.as_str()).increment(1);
}

/// Admits argon2 work for `principal` before any quota is charged or any
/// hash runs: past `pin.hash_per_principal` a 429, past `pin.hash_queue` a
/// 503, both with Retry-After and audited as a quota refusal is. The
/// ticket is held until the work ends.
pub async fn hash_ticket(
    state: &AppState,
    principal: &str,
    ctx: Context<'_>,
) -> ServiceResult<Ticket> {
    let busy = match state.hash_gate.admit(principal) {
        Ok(ticket) => return Ok(ticket),
        Err(busy) => busy,
    };
    let quota = match busy {
        Busy::Principal => Quota::HashPerPrincipal,
        Busy::Queue => Quota::HashQueue,
    };
    metrics::counter!("pingate_hash_refusals_total", "reason" => quota.as_str()).increment(1);
    let refusal = Refusal {
        quota,
        retry_after_secs: 1,
    };
    audit_refusal(state, &refusal, ctx).await;
    Err(match busy {
        Busy::Principal => ServiceError::TooMany {
            detail: "quota hash_per_principal exceeded: your earlier PIN checks are \
                     still being evaluated; try again when they end"
                .into(),
            retry_after_secs: refusal.retry_after_secs,
        },
        Busy::Queue => ServiceError::Unavailable {
            detail: "the PIN hashing queue is full; try again shortly".into(),
            retry_after_secs: refusal.retry_after_secs,
        },
    })
}

/// The caller key every caller without an E.164 number shares within an
/// org: calling again (a new call) never resets its budget or lockout.
pub const WITHHELD: &str = "withheld";

/// The lockout key of an org's failure ceiling.
pub const ORG_CEILING: &str = "*";

/// Who the failure budget and lockouts follow: the caller's number within
/// the org, or `WITHHELD` for every caller without one.
pub fn caller_key(caller_e164: Option<&str>) -> String {
    caller_e164.unwrap_or(WITHHELD).to_string()
}

/// Key for counters per (org, caller).
pub fn org_caller(org_id: &str, caller_key: &str) -> String {
    format!("{org_id}|{caller_key}")
}

/// Key for the org-wide quotas: withheld callers count apart, so they can
/// never spend the budget of the org's callers with a number.
pub fn org_key(org_id: &str, caller_key: &str) -> String {
    if caller_key == WITHHELD {
        org_caller(org_id, WITHHELD)
    } else {
        org_id.to_string()
    }
}

/// A lockout in force under this key of this org, as a refusal.
async fn lockout_refusal(
    tx: &mut WriteTx,
    org_id: &str,
    caller_key: &str,
    quota: Quota,
) -> ServiceResult<Option<Refusal>> {
    let now = tx.now();
    Ok(quotas::active_lockout(tx.conn(), org_id, caller_key, now)
        .await?
        .map(|l| Refusal {
            quota,
            retry_after_secs: retry_after(now, l.until),
        }))
}

/// Charges one IVR account-number attempt to the caller (their number, or
/// every withheld caller together) and to the number keyed. Kept even when
/// refused, so a caller who goes on keying stays refused. Returns the quota
/// that refuses it, if any.
pub async fn account_try(
    state: &AppState,
    tx: &mut WriteTx,
    caller_e164: Option<&str>,
    account_number: &str,
) -> ServiceResult<Option<Quota>> {
    let now = tx.now();
    let w = window_ms(state);
    let by_caller = match caller_e164 {
        Some(n) => (Quota::AccountTriesPerCaller, n),
        None => (Quota::AccountTriesWithheld, WITHHELD),
    };
    let charged = [by_caller, (Quota::AccountTriesPerNumber, account_number)];
    let uses = charged.map(|(quota, key)| counted(quota, key));
    let counts = quotas::charge_all(tx.conn(), &uses, w, now).await?;
    let limits = &state.settings.limits;
    Ok(charged
        .into_iter()
        .zip(counts)
        .find_map(|((quota, _), r)| (r.used > i64::from(quota.limit(limits))).then_some(quota)))
}

/// What one wrong PIN started: the caller's lockout, the org's failure
/// ceiling (with the failures that reached it).
#[derive(Debug, Default)]
pub struct Failure {
    pub lockout: Option<LockoutRow>,
    pub ceiling: Option<(LockoutRow, i64)>,
}

/// Counts a wrong PIN against the caller's budget and, for callers with a
/// number, the org's ceiling; locks PIN verification for the caller (for
/// `limits.lockout`) or new PIN challenges for the org (for one window)
/// when either is reached.
pub async fn count_failure(
    state: &AppState,
    tx: &mut WriteTx,
    org_id: &str,
    caller_key: &str,
) -> ServiceResult<Failure> {
    let l = &state.settings.limits;
    // Takes turns with a lockout reset for this org (see `reset`).
    tx.serialize_on(LockSpace::OrgPinFailures, org_id).await?;
    let key = org_caller(org_id, caller_key);
    // The caller's failures, and the org's from callers with a number,
    // charged in one batch.
    let mut uses = vec![counted(Quota::PinFailures, &key)];
    if caller_key != WITHHELD {
        uses.push(counted(Quota::OrgPinFailures, org_id));
    }
    let now = tx.now();
    let mut counts = quotas::charge_all(tx.conn(), &uses, window_ms(state), now)
        .await?
        .into_iter();
    let (by_caller, by_org) = (counts.next(), counts.next());
    let lockout = match by_caller {
        Some(failures) => {
            let quota = (Quota::PinFailures, failures);
            reach(state, tx, quota, org_id, caller_key, l.lockout.0).await?
        }
        None => None,
    };
    let ceiling = match by_org {
        Some(failures) => {
            let quota = (Quota::OrgPinFailures, failures);
            reach(state, tx, quota, org_id, ORG_CEILING, l.window.0)
                .await?
                .map(|row| (row, failures.used))
        }
        None => None,
    };
    Ok(Failure { lockout, ceiling })
}

/// When `failures` under `quota` reach its limit and no lockout under
/// `lock_key` is in force, starts one for `lasts`.
async fn reach(
    state: &AppState,
    tx: &mut WriteTx,
    (quota, failures): (Quota, quotas::Rolling),
    org_id: &str,
    lock_key: &str,
    lasts: std::time::Duration,
) -> ServiceResult<Option<LockoutRow>> {
    let now = tx.now();
    if failures.used < i64::from(quota.limit(&state.settings.limits))
        || quotas::active_lockout(tx.conn(), org_id, lock_key, now)
            .await?
            .is_some()
    {
        return Ok(None);
    }
    let lockout = LockoutRow {
        id: ids::new_id("lck"),
        org_id: org_id.to_string(),
        caller_key: lock_key.to_string(),
        locked_at: now,
        until: now + lasts.as_millis() as i64,
        reset_at: None,
        reset_by: None,
    };
    quotas::insert_lockout(tx.conn(), &lockout).await?;
    Ok(Some(lockout))
}

/// The failure counter behind a lockout key of an org.
fn failures_behind(org_id: &str, caller_key: &str) -> (Quota, String) {
    if caller_key == ORG_CEILING {
        (Quota::OrgPinFailures, org_id.to_string())
    } else {
        (Quota::PinFailures, org_caller(org_id, caller_key))
    }
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
        Some(c) if c == WITHHELD || c == ORG_CEILING => Some(c.to_string()),
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
        let (quota, key) = failures_behind(&l.org_id, &l.caller_key);
        quotas::clear(tx.conn(), quota.as_str(), &key).await?;
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
        let (quota, key) = failures_behind(org_id, k);
        quotas::clear(tx.conn(), quota.as_str(), &key).await?;
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

#[cfg(test)]
mod tests;
