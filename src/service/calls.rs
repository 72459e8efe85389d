//! Calls: recording what the provider tells us (voice, gather, status) and
//! the agent attaching the organisation a caller names.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::challenge::{Ending, Step};
use crate::domain::handling::{Takeover, take_over};
use crate::domain::org::OrgProfile;
use crate::domain::phone::{CallerId, classify};
use crate::domain::verification::{Attestation, CallEnd, CallStatus, Verification, classify_call};
use crate::ids;
use crate::store::calls::{self, CallRow};
use crate::store::intake::NewCall;
use crate::store::principals::Principal;
use crate::store::{WriteTx, challenges, messages, orgs, quotas};

use super::{InternalError, ServiceError, ServiceResult, limits};

/// An inbound call as any provider reports it, in neutral terms.
pub struct InboundCall<'a> {
    pub provider: &'static str,
    pub provider_call_id: &'a str,
    /// The caller as the provider sent it, E.164 where it is a number.
    pub from: &'a str,
    pub to: &'a str,
    /// The provider's own words for the attestation, kept for people.
    pub attestation: Option<&'a str>,
    /// What the trust policy decides on.
    pub attestation_level: Attestation,
}

/// What the voice webhook should answer.
pub struct VoiceDecision {
    pub call: CallRow,
    /// The org is unknown and the IVR should ask for the account number.
    pub ask_for_account: bool,
    pub replay: bool,
}

pub async fn receive(state: &AppState, inbound: InboundCall<'_>) -> ServiceResult<VoiceDecision> {
    let now = state.clock.now_ms();
    let caller = classify(inbound.from);
    // Whether an org registered the number is read in the insert itself;
    // the domain decides the verification for both answers.
    let verification = |registered| {
        classify_call(
            &caller,
            registered,
            inbound.attestation_level,
            state.settings.security.caller_id_trust,
        )
    };
    let call = NewCall {
        row: new_call_row(&inbound, &caller, verification(false), now),
        if_registered: verification(true),
        event: received_event(state, &inbound, &caller),
    };
    // Stored in one insert with the calls arriving beside it.
    let (call, inserted) = state.store.record_call(now, call).await?;
    metrics::counter!("pingate_calls_total", "verification" => call.verification.as_str(), "replay" => if inserted { "no" } else { "yes" }).increment(1);
    Ok(VoiceDecision {
        ask_for_account: call.org_id.is_none()
            && call.status == CallStatus::Active
            && state.settings.voice.ivr_enabled,
        call,
        replay: !inserted,
    })
}

/// The row of a call first heard of now, as if no org registered its
/// number (the insert fills the org in).
fn new_call_row(
    inbound: &InboundCall<'_>,
    caller: &CallerId,
    verification: Verification,
    now: i64,
) -> CallRow {
    CallRow {
        id: ids::call_id(),
        provider: inbound.provider.to_string(),
        provider_call_id: inbound.provider_call_id.to_string(),
        from_raw: inbound.from.to_string(),
        caller_kind: caller.kind().to_string(),
        caller_e164: caller.as_e164().map(|n| n.as_str().to_string()),
        to_raw: inbound.to.to_string(),
        attestation: inbound.attestation.map(str::to_string),
        attestation_level: inbound.attestation_level,
        org_id: None,
        org_source: None,
        verification,
        status: CallStatus::Active,
        gather_attempts: 0,
        created_at: now,
        updated_at: now,
        ended_at: None,
        language: None,
        line: None,
        severity: None,
        inside_hours: None,
        menu_attempts: 0,
        handled_by: None,
    }
}

/// The `call_received` event, without what the insert decides (the org
/// and the verification).
fn received_event(state: &AppState, inbound: &InboundCall<'_>, caller: &CallerId) -> NewEvent {
    NewEvent::new(
        EventKind::CallReceived,
        format!("provider:{}", inbound.provider),
        Outcome::Success,
    )
    .detail("provider_call_id", inbound.provider_call_id)
    .detail("caller", caller_pseudonym(state, caller))
    .detail("caller_kind", caller.kind())
    .detail("attestation", inbound.attestation.unwrap_or(""))
}

pub enum GatherDecision {
    Identified,
    TryAgain,
    GiveUp,
}

/// The caller keyed an account number into the IVR.
/// `receipt` is the delivery's idempotency key: a delivery seen before
/// changes nothing and gets the answer the call's state gives.
pub async fn gather(
    state: &AppState,
    provider: &'static str,
    provider_call_id: &str,
    digits: Option<&str>,
    receipt: Option<&str>,
) -> ServiceResult<GatherDecision> {
    let now = state.clock.now_ms();
    let org = match account_number(digits) {
        Some(digits) => orgs::org_for_account_number(state.store.reader(), digits).await?,
        None => None,
    };
    let mut tx = state.store.begin(now).await?;
    let Some(found) = calls::by_provider_id_in(tx.conn(), provider, provider_call_id).await? else {
        return Err(ServiceError::NotFound("call"));
    };
    // An agent may be attaching an org at this moment.
    let call = lock_call(&mut tx, &found.id).await?;
    if call.org_id.is_some() {
        return Ok(GatherDecision::Identified);
    }
    let more_tries = |attempts: i64| {
        if attempts < i64::from(state.settings.voice.ivr_attempts) {
            GatherDecision::TryAgain
        } else {
            GatherDecision::GiveUp
        }
    };
    if let Some(key) = receipt
        && !quotas::first_receipt(tx.conn(), provider, key, now).await?
    {
        return Ok(more_tries(call.gather_attempts));
    }
    // Charged for every number keyed, known or not, and kept when refused:
    // enumeration across calls runs into the caller's and the number's
    // budgets. A refused attempt sounds exactly like an unknown number.
    let refused = match account_number(digits) {
        Some(d) => limits::account_try(state, &mut tx, call.caller_e164.as_deref(), d).await?,
        None => None,
    };
    let actor = format!("provider:{provider}");
    let decision = match (org, refused) {
        (Some(org_id), None) => {
            if !identify_by_keypad(&mut tx, &call, &org_id, provider).await? {
                // The call ended while the caller was keying.
                return Ok(GatherDecision::GiveUp);
            }
            GatherDecision::Identified
        }
        (_, refused) => more_tries(not_identified(&mut tx, &call, &actor, refused).await?),
    };
    tx.commit().await?;
    Ok(decision)
}

/// An account number that named no org, or whose attempt a quota refused:
/// recorded alike (the refusal audited too); returns the call's attempts.
async fn not_identified(
    tx: &mut WriteTx,
    call: &CallRow,
    actor: &str,
    refused: Option<limits::Quota>,
) -> ServiceResult<i64> {
    let now = tx.now();
    let attempts = calls::bump_gather_attempts(tx.conn(), &call.id, now).await?;
    tx.audit(
        NewEvent::new(EventKind::CallOrgNotFound, actor, Outcome::Failure)
            .call(&call.id)
            .detail("source", "ivr")
            .detail("attempt", attempts),
    );
    if let Some(quota) = refused {
        tx.audit(
            NewEvent::new(EventKind::RateLimitExceeded, actor, Outcome::Failure)
                .call(&call.id)
                .detail("quota", quota.as_str()),
        );
        metrics::counter!("pingate_quota_refusals_total", "quota" => quota.as_str()).increment(1);
    }
    Ok(attempts)
}

/// Attaches the org whose account number the caller keyed. An org named
/// by keypad is never trusted: the caller must read a PIN. False if the
/// call is no longer active.
async fn identify_by_keypad(
    tx: &mut WriteTx,
    call: &CallRow,
    org_id: &str,
    provider: &str,
) -> ServiceResult<bool> {
    let now = tx.now();
    let pin = Verification::PinRequired;
    if !calls::set_org(tx.conn(), &call.id, org_id, "ivr", pin, now).await? {
        return Ok(false);
    }
    let actor = format!("provider:{provider}");
    tx.audit(
        NewEvent::new(EventKind::CallOrgIdentified, actor, Outcome::Success)
            .org(org_id)
            .call(&call.id)
            .detail("source", "ivr"),
    );
    Ok(true)
}

/// What the caller keyed, if it can be an account number: digits only,
/// 1 to 20 of them, a trailing `#` dropped.
fn account_number(digits: Option<&str>) -> Option<&str> {
    let digits = digits.unwrap_or("").trim().trim_end_matches('#');
    let plausible =
        !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit());
    plausible.then_some(digits)
}

/// The provider says the call is over: it ends, with its challenges.
/// A job on the writer, like the voice webhook: every call ends with one.
pub async fn ended(
    state: &AppState,
    provider: &'static str,
    provider_call_id: &str,
    end: CallEnd,
    receipt: Option<&str>,
) -> ServiceResult<()> {
    let now = state.clock.now_ms();
    let provider_call_id = provider_call_id.to_string();
    let receipt = receipt.map(str::to_string);
    state
        .store
        .write(now, move |tx| {
            Box::pin(async move {
                record_end(tx, provider, &provider_call_id, end, receipt.as_deref()).await
            })
        })
        .await
}

/// Ends the call, once: an unknown call or a delivery seen before (by
/// `receipt`) changes nothing, and nothing is kept of it.
async fn record_end(
    tx: &mut WriteTx,
    provider: &'static str,
    provider_call_id: &str,
    end: CallEnd,
    receipt: Option<&str>,
) -> ServiceResult<()> {
    let now = tx.now();
    let Some(call) = calls::by_provider_id_in(tx.conn(), provider, provider_call_id).await? else {
        return Ok(());
    };
    if let Some(key) = receipt
        && !quotas::first_receipt(tx.conn(), provider, key, now).await?
    {
        return Ok(());
    }
    if calls::end(tx.conn(), &call.id, now).await? {
        end_challenges(tx, &call, Ending::Cancelled, "call ended").await?;
        tx.audit(
            NewEvent::new(
                EventKind::CallEnded,
                format!("provider:{provider}"),
                Outcome::Success,
            )
            .org_opt(call.org_id.clone())
            .call(&call.id)
            .detail("provider_status", end.as_str()),
        );
    }
    Ok(())
}

/// Locks the call's row for the rest of `tx` and returns it as committed
/// now. Every write that touches a call and its challenges takes the call
/// first, so concurrent ones (a hang-up, a PIN check, a new challenge)
/// meet in one order on PostgreSQL instead of deadlocking, and each decides
/// on the call's state as it is, not as a read before the transaction saw it.
pub(crate) async fn lock_call(tx: &mut WriteTx, call_id: &str) -> ServiceResult<CallRow> {
    calls::lock(tx.conn(), call_id)
        .await?
        .ok_or(ServiceError::NotFound("call"))
}

pub(crate) fn ensure_active(call: &CallRow) -> ServiceResult<()> {
    if call.status == CallStatus::Active {
        return Ok(());
    }
    Err(ServiceError::conflict(
        "call-ended",
        "the call has ended",
        Some(call.status.as_str()),
    ))
}

/// Ends a call's pending challenges (cancelled or superseded; expired if
/// their TTL has passed, as the model says), wiping their queued PINs,
/// with one audit event each. The caller holds the call's lock.
pub(crate) async fn end_challenges(
    tx: &mut WriteTx,
    call: &CallRow,
    how: Ending,
    reason: &str,
) -> ServiceResult<()> {
    let now = tx.now();
    for row in challenges::pending_for_call(tx.conn(), &call.id).await? {
        let Some(step) = row.model().ending(now, how) else {
            continue;
        };
        if challenges::apply(tx.conn(), &row.id, step, now)
            .await?
            .is_none()
        {
            continue;
        }
        messages::wipe_for_challenge(tx.conn(), &row.id, now).await?;
        let ev = match step {
            Step::End(Ending::Superseded) => {
                NewEvent::new(EventKind::ChallengeSuperseded, "system", Outcome::Success)
                    .detail("reason", reason)
            }
            Step::End(Ending::Cancelled) => {
                NewEvent::new(EventKind::ChallengeCancelled, "system", Outcome::Success)
                    .detail("reason", reason)
            }
            _ => NewEvent::new(EventKind::ChallengeExpired, "system", Outcome::Success),
        };
        tx.audit(
            ev.org_opt(call.org_id.clone())
                .call(&call.id)
                .challenge(&row.id),
        );
    }
    Ok(())
}

/// The agent attaches the org the caller names. Only a number registered
/// to that org (with acceptable attestation) makes the call trusted. The
/// agent handles the call from then on (or is refused if another does).
pub async fn attach_org(
    state: &AppState,
    agent: &Principal,
    call_id: &str,
    org_id: &str,
) -> ServiceResult<CallRow> {
    let result = attach(state, agent, call_id, org_id).await;
    super::handling::audited(state, agent, call_id, "attach_org", result).await
}

async fn attach(
    state: &AppState,
    agent: &Principal,
    call_id: &str,
    org_id: &str,
) -> ServiceResult<CallRow> {
    let now = state.clock.now_ms();
    // Unknown call (404) before unknown org (422); both read before the
    // transaction, which then decides on the call as it is.
    calls::get(state.store.reader(), call_id)
        .await?
        .ok_or(ServiceError::NotFound("call"))?;
    let org = orgs::get(state.store.reader(), org_id)
        .await?
        .ok_or_else(|| ServiceError::invalid("org_id", "no such organisation"))?;
    let mut tx = state.store.begin(now).await?;
    let call = lock_call(&mut tx, call_id).await?;
    ensure_active(&call)?;
    super::handling::act_on(&mut tx, &call, agent).await?;
    if !needs_org(&call, org_id)? {
        return Ok(call);
    }
    let verification = verification_with(state, &call, &org);
    if !calls::set_org(
        tx.conn(),
        &call.id,
        org.id.as_str(),
        "agent",
        verification,
        now,
    )
    .await?
    {
        return Err(InternalError::Invariant(
            "a locked active call without an org refused its org",
        )
        .into());
    }
    tx.audit(
        NewEvent::new(
            EventKind::CallOrgIdentified,
            agent.actor(),
            Outcome::Success,
        )
        .org(org.id.as_str())
        .call(&call.id)
        .detail("source", "agent")
        .detail("verification", verification.as_str()),
    );
    tx.commit().await?;
    calls::get(state.store.reader(), call_id)
        .await?
        .ok_or(ServiceError::NotFound("call"))
}

/// Whether `call` still needs `org_id`: already attached to it is a no-op
/// (a retried request), attached to another org is a conflict.
fn needs_org(call: &CallRow, org_id: &str) -> ServiceResult<bool> {
    match call.org_id.as_deref() {
        None => Ok(true),
        Some(o) if o == org_id => Ok(false),
        Some(_) => Err(ServiceError::conflict(
            "org-already-set",
            "the call is already attached to another organisation",
            None,
        )),
    }
}

/// `POST /v1/calls/{id}/take`: `agent` handles the call from now on. The
/// call's open challenge stays as it is, its spent attempts with it; the
/// previous agent's grants on the call end in the same transaction.
pub async fn take(state: &AppState, agent: &Principal, call_id: &str) -> ServiceResult<CallRow> {
    let mut tx = state.store.begin(state.clock.now_ms()).await?;
    let call = lock_call(&mut tx, call_id).await?;
    ensure_active(&call)?;
    let takeover = take_over(call.handled_by.as_deref(), &agent.name);
    if takeover == Takeover::AlreadyHandling {
        return Ok(call);
    }
    let now = tx.now();
    calls::set_handler(tx.conn(), &call.id, &agent.name, now).await?;
    let mut ev = NewEvent::new(EventKind::CallTaken, agent.actor(), Outcome::Success)
        .org_opt(call.org_id.clone())
        .call(&call.id);
    if let Some(previous) = takeover.ends_grants_of() {
        ev = ev.detail("previous", previous);
    }
    tx.audit(ev);
    if let Some(previous) = takeover.ends_grants_of() {
        super::handling::end_grants_of(&mut tx, &call.id, previous, agent).await?;
    }
    tx.commit().await?;
    calls::get(state.store.reader(), call_id)
        .await?
        .ok_or(ServiceError::NotFound("call"))
}

/// How far the call is verified once `org` is attached: trusted only for
/// a number registered to that org, with acceptable attestation.
fn verification_with(state: &AppState, call: &CallRow, org: &OrgProfile) -> Verification {
    let caller = classify(&call.from_raw);
    let registered = caller
        .as_e164()
        .is_some_and(|n| org.registered_numbers.iter().any(|r| r == n));
    classify_call(
        &caller,
        registered,
        call.attestation_level,
        state.settings.security.caller_id_trust,
    )
}

pub fn caller_pseudonym(state: &AppState, caller: &CallerId) -> String {
    match caller {
        CallerId::E164(n) => state.pseudonyms.number(n.as_str()),
        other => other.kind().to_string(),
    }
}
