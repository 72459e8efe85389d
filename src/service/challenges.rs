//! PIN challenges: create (PIN to the org's registered contact only) and
//! check (the one verifier every PIN goes through: budget reserved
//! atomically before any hashing). What a challenge may do next is the
//! domain model's decision (`domain::challenge`); the store applies it.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::challenge::{CheckGate, CheckOutcome, Ending, Step};
use crate::domain::org::{Channel, Destination, OrgProfile};
use crate::domain::pin::Pin;
use crate::domain::verification::{ChallengeStatus, GrantBasis, Verification};
use crate::ids;
use crate::store::calls::{self, CallRow};
use crate::store::challenges::{self, ChallengeRow};
use crate::store::principals::Principal;
use crate::store::{WriteTx, messages, orgs, overrides};

use super::grants::{self, IssuedGrant};
use super::limits::{self, Admission, Charge, Context, Distinct, Quota};
use super::{InternalError, ServiceError, ServiceResult, pin_message};

/// The org a new PIN for this call goes to, if the call may have one.
fn pin_may_be_sent(call: &CallRow) -> ServiceResult<String> {
    super::calls::ensure_active(call)?;
    if call.verification == Verification::Failed {
        return Err(ServiceError::conflict(
            "verification-failed",
            "PIN verification failed on this call; no further PINs are sent",
            Some(call.verification.as_str()),
        ));
    }
    call.org_id.clone().ok_or_else(|| {
        ServiceError::conflict(
            "org-unknown",
            "attach the caller's organisation to the call first",
            None,
        )
    })
}

/// A new challenge's PIN, ready before any transaction: argon2 runs
/// outside one.
struct NewPin {
    challenge_id: String,
    body: crate::delivery::templates::Rendered,
    sealed: Vec<u8>,
    hash: String,
}

async fn new_pin(state: &AppState, org: &OrgProfile, channel: Channel) -> ServiceResult<NewPin> {
    let pin = Pin::generate(
        state.settings.pin.length,
        &mut rand::rand_core::UnwrapErr(rand::rngs::SysRng),
    )?;
    let body = pin_message::render(state, org, channel, pin.expose());
    let challenge_id = ids::challenge_id();
    let sealed = state.sealer.seal(pin.expose(), &challenge_id)?;
    let hash = state
        .hash_work(move |h| h.hash(&pin, &mut rand::rand_core::UnwrapErr(rand::rngs::SysRng)))
        .await??;
    Ok(NewPin {
        challenge_id,
        body,
        sealed,
        hash,
    })
}

/// A new PIN for the call, by the agent handling it (or claiming it now).
pub async fn create(
    state: &AppState,
    agent: &Principal,
    call_id: &str,
    channel: Channel,
) -> ServiceResult<ChallengeRow> {
    let result = create_by_handler(state, agent, call_id, channel).await;
    super::handling::audited(state, agent, call_id, "create_challenge", result).await
}

async fn create_by_handler(
    state: &AppState,
    agent: &Principal,
    call_id: &str,
    channel: Channel,
) -> ServiceResult<ChallengeRow> {
    let call = calls::get(state.store.reader(), call_id)
        .await?
        .ok_or(ServiceError::NotFound("call"))?;
    // Checked here to fail before any charge, and again on the locked call.
    let org_id = pin_may_be_sent(&call)?;
    super::handling::ensure_may_act(&call, agent)?;
    let org = orgs::get(state.store.reader(), &org_id)
        .await?
        .ok_or(ServiceError::NotFound("organisation"))?;
    let dest = pin_message::destination(&org, channel)?;
    if channel == Channel::Sms {
        pin_message::sms_region_allowed(state, &agent.actor(), &org, &call.id, &dest).await?;
    }
    // Quotas are charged (and committed) before any hashing, so a refused
    // request costs no argon2 time.
    let actor = agent.actor();
    let ctx = Context::on_call(&actor, &org_id, &call.id);
    let _ticket = limits::hash_ticket(state, &agent.name, ctx).await?;
    let tx = state.store.begin(state.clock.now_ms()).await?;
    let (tx, _) = admit_challenge(state, tx, agent, &call.id, &org_id, (channel, &dest)).await?;
    tx.commit().await?;
    let pin = new_pin(state, &org, channel).await?;
    let mut tx = state.store.begin(state.clock.now_ms()).await?;
    let call = locked_for_pin(&mut tx, &call.id, &org_id).await?;
    // A takeover between the two transactions wins.
    super::handling::act_on(&mut tx, &call, agent).await?;
    let row = insert_challenge(state, &mut tx, agent, &call, channel, &dest, &pin).await?;
    pin_message::enqueue(state, &mut tx, &row, channel, &dest, &pin.body).await?;
    tx.commit().await?;
    state.wake_outbox();
    metrics::counter!("pingate_challenges_total", "channel" => channel.as_str()).increment(1);
    Ok(row)
}

/// Takes the call and checks it may still have a PIN for `org_id`.
async fn locked_for_pin(tx: &mut WriteTx, call_id: &str, org_id: &str) -> ServiceResult<CallRow> {
    let call = super::calls::lock_call(tx, call_id).await?;
    if pin_may_be_sent(&call)? != org_id {
        return Err(ServiceError::conflict(
            "org-changed",
            "the call's organisation changed; try again",
            None,
        ));
    }
    Ok(call)
}

/// Takes the call, checks it may still have a PIN for `org_id`, and charges
/// the challenge quotas.
async fn admit_challenge(
    state: &AppState,
    mut tx: WriteTx,
    agent: &Principal,
    call_id: &str,
    org_id: &str,
    (channel, dest): (Channel, &Destination),
) -> ServiceResult<(WriteTx, CallRow)> {
    let call = locked_for_pin(&mut tx, call_id, org_id).await?;
    super::handling::act_on(&mut tx, &call, agent).await?;
    let caller_key = limits::caller_key(call.caller_e164.as_deref());
    let org_caller = limits::org_caller(org_id, &caller_key);
    let org_key = limits::org_key(org_id, &caller_key);
    let mut charges = vec![
        Charge::new(Quota::ChallengesPerCaller, &org_caller),
        Charge::new(Quota::ChallengesPerOrg, &org_key),
        Charge::new(Quota::ChallengesPerAgent, &agent.name),
        Charge::new(Quota::SendsPerDestination, &dest.address),
    ];
    if channel == Channel::Sms {
        charges.push(Charge::new(Quota::SmsGlobal, "all"));
    }
    let admission = Admission {
        lockout: Some((org_id, &caller_key)),
        // Only new challenges stop at the org's failure ceiling: checks on
        // the PINs already sent still settle.
        ceiling: caller_key != limits::WITHHELD,
        charges,
        distinct: Some(Distinct::new(Quota::OrgsPerAgent, &agent.name, org_id)),
    };
    let actor = agent.actor();
    let ctx = Context::on_call(&actor, org_id, &call.id);
    let tx = limits::admit(state, tx, admission, ctx).await?;
    Ok((tx, call))
}

/// Supersedes the call's pending challenge and inserts the new one, which
/// inherits the attempts the call has spent.
async fn insert_challenge(
    state: &AppState,
    tx: &mut WriteTx,
    agent: &Principal,
    call: &CallRow,
    channel: Channel,
    dest: &Destination,
    pin: &NewPin,
) -> ServiceResult<ChallengeRow> {
    let s = &state.settings;
    let now = tx.now();
    let org_id = call.org_id.clone().unwrap_or_default();
    super::calls::end_challenges(tx, call, Ending::Superseded, "a new challenge was created")
        .await?;
    // The budget follows the call: a new challenge inherits spent attempts.
    let spent = challenges::attempts_spent_on_call(tx.conn(), &call.id).await?;
    let max = i64::from(s.pin.max_attempts);
    if spent >= max {
        return Err(ServiceError::conflict(
            "verification-failed",
            "the attempt budget of this call is spent",
            Some(Verification::Failed.as_str()),
        ));
    }
    let row = ChallengeRow {
        id: pin.challenge_id.clone(),
        call_id: call.id.clone(),
        org_id: org_id.clone(),
        caller_e164: call.caller_e164.clone(),
        agent: agent.name.clone(),
        channel,
        destination: dest.masked.clone(),
        pin_hash: pin.hash.clone(),
        status: ChallengeStatus::Pending,
        attempts: spent,
        max_attempts: max,
        sends: 1,
        created_at: now,
        expires_at: now + s.pin.ttl.0.as_millis() as i64,
        decided_at: None,
    };
    challenges::insert(tx.conn(), &row).await?;
    challenges::set_pin_sealed(tx.conn(), &row.id, &pin.sealed).await?;
    let mut created = NewEvent::new(EventKind::ChallengeCreated, agent.actor(), Outcome::Success)
        .org(&org_id)
        .call(&call.id)
        .challenge(&row.id)
        .detail("channel", channel.as_str())
        .detail("destination", dest.masked.as_str())
        .detail("attempts_inherited", spent);
    // A PIN sent while an admin override lifts the org's budgets says so.
    if let Some(o) = overrides::active(tx.conn(), &org_id, now).await? {
        created = created.detail("override_id", o.id.as_str());
    }
    tx.audit(created);
    Ok(row)
}

pub(crate) async fn load(state: &AppState, id: &str) -> ServiceResult<ChallengeRow> {
    if !ids::looks_like("chl", id) {
        return Err(ServiceError::NotFound("challenge"));
    }
    challenges::get(state.store.reader(), id)
        .await?
        .ok_or(ServiceError::NotFound("challenge"))
}

/// The status as of `now` (a pending challenge past its TTL is expired).
pub fn effective_status(row: &ChallengeRow, now: i64) -> ChallengeStatus {
    row.model().effective_status(now)
}

pub(crate) fn not_pending(status: ChallengeStatus) -> ServiceError {
    ServiceError::conflict(
        "challenge-not-pending",
        format!("the challenge is {status}"),
        Some(status.as_str()),
    )
}

pub enum CheckResult {
    Approved(Box<IssuedGrant>),
    Wrong { attempts_left: i64 },
    Locked,
}

/// The one PIN verifier. Order matters: reserve an attempt with one
/// conditional UPDATE (so N parallel guesses never evaluate more than the
/// budget), hash outside any transaction, then settle with another.
pub async fn check(
    state: &AppState,
    agent: &Principal,
    challenge_id: &str,
    pin_input: &str,
) -> ServiceResult<CheckResult> {
    let pin = Pin::parse_input(pin_input, state.settings.pin.length)
        .map_err(|e| ServiceError::invalid("pin", e.to_string()))?;
    // Held until this check ends, also when it outlives its request.
    let actor = agent.actor();
    let _ticket = limits::hash_ticket(state, &agent.name, Context::of(&actor)).await?;
    let row = match load(state, challenge_id).await {
        Ok(row) => row,
        Err(e) => return unknown_challenge(state, agent, pin, e).await,
    };
    let reserved = reserve_attempt(state, agent, &row).await;
    let attempt = super::handling::audited(state, agent, &row.call_id, "check", reserved).await?;
    let matched = state.verify_pin(pin, Some(row.pin_hash.clone())).await?;
    settle(state, agent, &row, attempt, matched).await
}

/// A check on an id that does not exist: charged to the agent like any
/// check (the 404 already tells that the id is unknown), then the same
/// argon2 time is spent so response time tells nothing more.
async fn unknown_challenge(
    state: &AppState,
    agent: &Principal,
    pin: Pin,
    not_found: ServiceError,
) -> ServiceResult<CheckResult> {
    let tx = state.store.begin(state.clock.now_ms()).await?;
    let admission = Admission {
        charges: vec![Charge::new(Quota::ChecksPerAgent, &agent.name)],
        ..Admission::default()
    };
    let actor = agent.actor();
    limits::admit(state, tx, admission, Context::of(&actor))
        .await?
        .commit()
        .await?;
    let _ = state.verify_pin(pin, None).await;
    Err(not_found)
}

/// The caller of a challenge, as the failure budget and lockouts follow it.
fn caller_key(row: &ChallengeRow) -> String {
    limits::caller_key(row.caller_e164.as_deref())
}

/// Charges the check quotas and reserves one attempt, as the model
/// decides and the store's guard enforces. Returns the attempt's number.
async fn reserve_attempt(
    state: &AppState,
    agent: &Principal,
    row: &ChallengeRow,
) -> ServiceResult<u32> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    // The call first (as a takeover takes it): only its handler checks.
    let call = super::calls::lock_call(&mut tx, &row.call_id).await?;
    super::handling::act_on(&mut tx, &call, agent).await?;
    let caller_key = caller_key(row);
    let org_caller = limits::org_caller(&row.org_id, &caller_key);
    let org_key = limits::org_key(&row.org_id, &caller_key);
    let admission = Admission {
        lockout: Some((&row.org_id, &caller_key)),
        charges: vec![
            Charge::new(Quota::ChecksPerCaller, &org_caller),
            Charge::new(Quota::ChecksPerOrg, &org_key),
            Charge::new(Quota::ChecksPerAgent, &agent.name),
        ],
        distinct: Some(Distinct::new(Quota::OrgsPerAgent, &agent.name, &row.org_id)),
        ..Admission::default()
    };
    let actor = agent.actor();
    let ctx = Context {
        challenge_id: Some(&row.id),
        ..Context::on_call(&actor, &row.org_id, &row.call_id)
    };
    let mut tx = limits::admit(state, tx, admission, ctx).await?;
    let refusal = match row.model().gate(now) {
        // The model's attempt number assumes the row as read; the store's
        // count is the one that holds under concurrency.
        CheckGate::Evaluate { .. } => {
            if let Some(c) =
                challenges::apply(tx.conn(), &row.id, Step::ReserveAttempt, now).await?
            {
                tx.commit().await?;
                return Ok(u32::try_from(c.attempts).unwrap_or(u32::MAX));
            }
            // Another check took the last attempt since we read the row.
            no_attempts_left()
        }
        CheckGate::NoAttemptsLeft => no_attempts_left(),
        CheckGate::Expired => {
            record_expiry(&mut tx, row, now).await?;
            tx.commit().await?;
            not_pending(ChallengeStatus::Expired)
        }
        CheckGate::Refuse(status) => not_pending(status),
    };
    Err(refusal)
}

/// Every attempt is reserved by checks still being evaluated.
fn no_attempts_left() -> ServiceError {
    ServiceError::conflict(
        "no-attempts-left",
        "no attempts are left on this challenge",
        Some(ChallengeStatus::Pending.as_str()),
    )
}

/// A pending challenge past its TTL is recorded as expired (once) and its
/// PIN wiped.
async fn record_expiry(tx: &mut WriteTx, row: &ChallengeRow, now: i64) -> ServiceResult<()> {
    if challenges::apply(tx.conn(), &row.id, Step::Expire, now)
        .await?
        .is_some()
    {
        messages::wipe_for_challenge(tx.conn(), &row.id, now).await?;
        tx.audit(
            NewEvent::new(EventKind::ChallengeExpired, "system", Outcome::Success)
                .org(&row.org_id)
                .call(&row.call_id)
                .challenge(&row.id),
        );
    }
    Ok(())
}

/// Records an evaluated attempt: approval and its grant, or a failure
/// counted against the caller (which may lock them out) and the lock once
/// the budget is spent.
async fn settle(
    state: &AppState,
    agent: &Principal,
    row: &ChallengeRow,
    attempt: u32,
    matched: bool,
) -> ServiceResult<CheckResult> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    // The call before the challenge, as a hang-up takes them.
    super::calls::lock_call(&mut tx, &row.call_id).await?;
    let event = |kind, outcome| {
        NewEvent::new(kind, agent.actor(), outcome)
            .org(&row.org_id)
            .call(&row.call_id)
            .challenge(&row.id)
            .detail("attempt", attempt)
            .detail("max_attempts", row.max_attempts)
    };
    if matched {
        let approved = event(EventKind::PinCheckApproved, Outcome::Success);
        return approve(state, tx, agent, row, approved).await;
    }
    let locked_out = event(EventKind::PinLockout, Outcome::Failure);
    let failure = count_failure(state, &mut tx, row, locked_out).await?;
    let lockout = failure.lockout.is_some();
    // The model's copy as the reservation left it: pending, `attempt` used.
    let mut model = row.model();
    model.status = ChallengeStatus::Pending;
    model.attempts = attempt;
    let result = match model.settle(attempt, false, lockout).map_err(not_pending)? {
        CheckOutcome::Locked { step } => {
            lock(&mut tx, row, step).await?;
            tx.audit(event(EventKind::PinCheckLocked, Outcome::Failure));
            CheckResult::Locked
        }
        CheckOutcome::Wrong { attempts_left } => {
            tx.audit(event(EventKind::PinCheckFailed, Outcome::Failure));
            CheckResult::Wrong {
                attempts_left: i64::from(attempts_left),
            }
        }
        CheckOutcome::Approved => {
            return Err(InternalError::Invariant("a wrong PIN was approved").into());
        }
    };
    tx.commit().await?;
    if lockout || failure.ceiling.is_some() {
        state.wake_outbox();
    }
    metrics::counter!("pingate_pin_checks_total", "outcome" => "wrong").increment(1);
    Ok(result)
}

/// Locks the challenge with `step` (if its guard still holds), wiping its
/// PIN and failing the call's verification.
async fn lock(tx: &mut WriteTx, row: &ChallengeRow, step: Step) -> ServiceResult<()> {
    let now = tx.now();
    if challenges::apply(tx.conn(), &row.id, step, now)
        .await?
        .is_some()
    {
        messages::wipe_for_challenge(tx.conn(), &row.id, now).await?;
        calls::set_verification(tx.conn(), &row.call_id, Verification::Failed, now).await?;
    }
    Ok(())
}

/// A right PIN: approves the challenge if it is still pending (so two
/// right answers approve once), verifies the call and issues the grant.
async fn approve(
    state: &AppState,
    tx: WriteTx,
    agent: &Principal,
    row: &ChallengeRow,
    approved: NewEvent,
) -> ServiceResult<CheckResult> {
    let now = tx.now();
    // Refused here, the approval rolls back whole: nothing approved.
    let mut tx =
        grants::admit_approval_notices(state, tx, agent, &row.org_id, &row.call_id, &row.id)
            .await?;
    if challenges::apply(tx.conn(), &row.id, Step::Approve, now)
        .await?
        .is_none()
    {
        drop(tx);
        let current = load(state, &row.id).await?;
        return Err(not_pending(effective_status(&current, now)));
    }
    messages::wipe_for_challenge(tx.conn(), &row.id, now).await?;
    calls::set_verification(tx.conn(), &row.call_id, Verification::Verified, now).await?;
    tx.audit(approved);
    let grant = grants::issue_in(
        state,
        &mut tx,
        agent,
        &row.org_id,
        &row.call_id,
        Some(&row.id),
        GrantBasis::Pin,
    )
    .await?;
    tx.commit().await?;
    state.wake_outbox();
    metrics::counter!("pingate_pin_checks_total", "outcome" => "approved").increment(1);
    Ok(CheckResult::Approved(Box::new(grant)))
}

/// Counts a wrong PIN against the caller and the org; a lockout it starts
/// is audited (`locked_out` is the event to complete) and the org's
/// contacts are told; an org ceiling it reaches is audited and told to the
/// contacts and the administrators. Returns what the failure started.
async fn count_failure(
    state: &AppState,
    tx: &mut WriteTx,
    row: &ChallengeRow,
    locked_out: NewEvent,
) -> ServiceResult<limits::Failure> {
    let caller_key = caller_key(row);
    let failure = limits::count_failure(state, tx, &row.org_id, &caller_key).await?;
    if let Some(l) = &failure.lockout {
        tx.audit(
            locked_out
                .detail("lockout_id", l.id.as_str())
                .detail("caller", limits::pseudonymous_key(state, &caller_key))
                .detail("until", crate::clock::rfc3339(l.until)),
        );
        super::notices::lockout(state, tx, &row.org_id, &row.call_id, l.until).await?;
    }
    if let Some((l, failures)) = &failure.ceiling {
        tx.audit(
            NewEvent::new(EventKind::OrgFailureCeiling, "system", Outcome::Failure)
                .org(&row.org_id)
                .call(&row.call_id)
                .challenge(&row.id)
                .detail("lockout_id", l.id.as_str())
                .detail("failures", *failures)
                .detail("ceiling", state.settings.limits.failures_per_org)
                .detail("until", crate::clock::rfc3339(l.until)),
        );
        super::notices::ceiling(state, tx, &row.org_id, &row.call_id, l.until).await?;
    }
    Ok(failure)
}
