//! PIN challenges: create (PIN to the org's registered contact only),
//! resend (the same PIN), and check (the one verifier every PIN goes
//! through: budget reserved atomically before any hashing).

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::delivery::{self, Outgoing, templates};
use crate::domain::org::{Channel, OrgProfile};
use crate::domain::pin::Pin;
use crate::ids;
use crate::store::calls::{self, CallRow};
use crate::store::challenges::{self, ChallengeRow};
use crate::store::principals::Principal;
use crate::store::{messages, orgs};
use crate::domain::verification::{ChallengeStatus, GrantBasis, Verification};

use super::grants::{self, IssuedGrant};
use super::limits::{self, Charge, Context};
use super::{ServiceError, ServiceResult};

/// The org's registered destination for a channel: (address, masked).
pub fn destination(org: &OrgProfile, channel: Channel) -> Option<(String, String)> {
    match channel {
        Channel::Email => org
            .contacts
            .email
            .as_ref()
            .map(|e| (e.as_str().to_string(), e.mask())),
        Channel::Sms => org
            .contacts
            .sms
            .as_ref()
            .map(|n| (n.as_str().to_string(), n.mask())),
    }
}

/// The org a new PIN for this call goes to, if the call may have one.
fn pin_may_be_sent(call: &CallRow) -> ServiceResult<String> {
    super::calls::ensure_active(call)?;
    if call.verification == Verification::Failed.as_str() {
        return Err(ServiceError::conflict(
            "verification-failed",
            "PIN verification failed on this call; no further PINs are sent",
            Some(&call.verification),
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

pub async fn create(
    state: &AppState,
    agent: &Principal,
    call_id: &str,
    channel: Channel,
) -> ServiceResult<ChallengeRow> {
    let s = &state.settings;
    let call = calls::get(state.store.reader(), call_id)
        .await?
        .ok_or(ServiceError::NotFound("call"))?;
    // Checked here to fail before any hashing, and again on the locked call.
    let org_id = pin_may_be_sent(&call)?;
    let org = orgs::get(state.store.reader(), &org_id)
        .await?
        .ok_or(ServiceError::NotFound("organisation"))?;
    if !org.channels.contains(&channel) {
        return Err(ServiceError::invalid(
            "channel",
            format!(
                "organisation {org_id} does not accept {} challenges",
                channel.as_str()
            ),
        ));
    }
    let (dest, masked) = destination(&org, channel).ok_or_else(|| {
        ServiceError::invalid(
            "channel",
            format!("organisation {org_id} has no {} contact", channel.as_str()),
        )
    })?;

    if channel == Channel::Sms {
        sms_country_allowed(state, &agent.actor(), &org, &call.id, &dest).await?;
    }
    let caller_key = limits::caller_key(call.caller_e164.as_deref(), &call.id);

    let pin_len = s.pin.length;
    let pin = Pin::generate(pin_len, &mut rand::rand_core::UnwrapErr(rand::rngs::SysRng))
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let body = render_pin(state, &org, channel, pin.expose());
    let challenge_id = ids::challenge_id();
    let pin_sealed = state
        .sealer
        .seal(pin.expose(), &challenge_id)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let pin_hash = state
        .hash_work(move |h| h.hash(&pin, &mut rand::rand_core::UnwrapErr(rand::rngs::SysRng)))
        .await
        .map_err(ServiceError::Internal)?
        .map_err(|e| ServiceError::Internal(e.to_string()))?;

    let now = state.clock.now_ms();
    let agent_actor = agent.actor();
    let mut tx = state.store.begin(now).await?;
    let call = super::calls::lock_call(&mut tx, &call.id).await?;
    if pin_may_be_sent(&call)? != org_id {
        return Err(ServiceError::conflict(
            "org-changed",
            "the call's organisation changed; try again",
            None,
        ));
    }
    let ctx = || Context {
        actor: &agent_actor,
        org_id: Some(&org_id),
        call_id: Some(&call.id),
        challenge_id: None,
    };
    if let Some(r) = limits::lockout_refusal(&mut tx, &org_id, &caller_key).await? {
        drop(tx);
        return Err(limits::refused(state, r, ctx()).await);
    }
    let org_caller = limits::org_caller(&org_id, &caller_key);
    let l = &s.limits;
    let mut charges = vec![
        Charge {
            quota: "challenges_per_caller",
            key: &org_caller,
            limit: l.challenges_per_caller,
        },
        Charge {
            quota: "challenges_per_org",
            key: &org_id,
            limit: l.challenges_per_org,
        },
        Charge {
            quota: "challenges_per_agent",
            key: &agent.name,
            limit: l.challenges_per_agent,
        },
        Charge {
            quota: "sends_per_destination",
            key: &dest,
            limit: l.sends_per_destination,
        },
    ];
    if channel == Channel::Sms {
        charges.push(Charge {
            quota: "sms_global",
            key: "all",
            limit: l.sms_global,
        });
    }
    let verdict = match limits::charge(state, &mut tx, &charges).await? {
        Ok(()) => {
            limits::charge_distinct(
                state,
                &mut tx,
                "orgs_per_agent",
                &agent.name,
                &org_id,
                l.orgs_per_agent,
            )
            .await?
        }
        refused => refused,
    };
    if let Err(r) = verdict {
        drop(tx);
        return Err(limits::refused(state, r, ctx()).await);
    }
    super::calls::end_challenges(
        &mut tx,
        &call,
        ChallengeStatus::Superseded,
        "a new challenge was created",
    )
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
        id: challenge_id,
        call_id: call.id.clone(),
        org_id: org_id.clone(),
        caller_e164: call.caller_e164.clone(),
        agent: agent.name.clone(),
        channel: channel.as_str().to_string(),
        destination: masked.clone(),
        pin_hash,
        status: ChallengeStatus::Pending.as_str().to_string(),
        attempts: spent,
        max_attempts: max,
        sends: 1,
        created_at: now,
        expires_at: now + s.pin.ttl.0.as_millis() as i64,
        decided_at: None,
    };
    challenges::insert(tx.conn(), &row).await?;
    challenges::set_pin_sealed(tx.conn(), &row.id, &pin_sealed).await?;
    tx.audit(
        NewEvent::new(EventKind::ChallengeCreated, agent.actor(), Outcome::Success)
            .org(&org_id)
            .call(&call.id)
            .challenge(&row.id)
            .detail("channel", channel.as_str())
            .detail("destination", masked.as_str())
            .detail("attempts_inherited", spent),
    );
    enqueue_pin(state, &mut tx, &row, channel, (&dest, &masked), &body).await?;
    tx.commit().await?;
    state.wake_outbox();
    metrics::counter!("pingate_challenges_total", "channel" => channel.as_str()).increment(1);
    Ok(row)
}

/// SMS goes only to regions on the allow-list (SMS pumping to premium
/// ranges is paid by the deployment). The refusal is audited.
pub(crate) async fn sms_country_allowed(
    state: &AppState,
    actor: &str,
    org: &OrgProfile,
    call_id: &str,
    dest: &str,
) -> ServiceResult<()> {
    let allowed = &state.settings.limits.sms_countries;
    if allowed.iter().any(|c| c == "*") {
        return Ok(());
    }
    let region = crate::domain::phone::E164::parse(dest)
        .ok()
        .and_then(|n| n.region())
        .unwrap_or_default();
    if allowed.contains(&region) {
        return Ok(());
    }
    let mut tx = state.store.begin(state.clock.now_ms()).await?;
    tx.audit(
        NewEvent::new(EventKind::SmsDestinationRefused, actor, Outcome::Failure)
            .org(org.id.as_str())
            .call(call_id)
            .detail("region", region.as_str()),
    );
    tx.commit().await?;
    Err(ServiceError::invalid(
        "channel",
        format!("SMS to region {region:?} is not allowed here (limits.sms_countries)"),
    ))
}

/// Queues a challenge's PIN message to `to` = (destination, masked).
pub(crate) async fn enqueue_pin(
    state: &AppState,
    tx: &mut crate::store::WriteTx,
    row: &ChallengeRow,
    channel: Channel,
    to: (&str, &str),
    body: &templates::Rendered,
) -> ServiceResult<()> {
    delivery::enqueue(
        tx,
        &state.sealer,
        Outgoing {
            kind: "pin",
            channel,
            org_id: &row.org_id,
            call_id: Some(&row.call_id),
            challenge_id: Some(&row.id),
            grant_id: None,
            destination: to.0,
            destination_masked: to.1,
            subject: &body.subject,
            body: &body.body,
        },
    )
    .await?;
    Ok(())
}

/// The PIN message for a channel, in the org's language.
pub(crate) fn render_pin(
    state: &AppState,
    org: &OrgProfile,
    channel: Channel,
    pin: &str,
) -> templates::Rendered {
    let vars = templates::PinVars {
        language: org.language.as_deref(),
        org_name: &org.name,
        pin,
        minutes: state.settings.pin.ttl.0.as_secs() / 60,
        support_name: &state.settings.delivery.support_name,
    };
    match channel {
        Channel::Email => templates::pin_email(&vars),
        Channel::Sms => templates::pin_sms(&vars),
    }
}

pub(crate) async fn load(state: &AppState, id: &str) -> ServiceResult<ChallengeRow> {
    if !ids::looks_like("chl", id) {
        return Err(ServiceError::NotFound("challenge"));
    }
    challenges::get(state.store.reader(), id)
        .await?
        .ok_or(ServiceError::NotFound("challenge"))
}

pub fn effective_status(row: &ChallengeRow, now: i64) -> ChallengeStatus {
    let status = ChallengeStatus::parse(&row.status).unwrap_or(ChallengeStatus::Cancelled);
    if status == ChallengeStatus::Pending && now >= row.expires_at {
        ChallengeStatus::Expired
    } else {
        status
    }
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
    let row = match load(state, challenge_id).await {
        Ok(row) => row,
        Err(e) => {
            // Spend the same argon2 time so response time does not tell
            // which challenge ids exist.
            let _ = state.verify_pin(pin, None).await;
            return Err(e);
        }
    };
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    let agent_actor = agent.actor();
    let ctx = || Context {
        actor: &agent_actor,
        org_id: Some(&row.org_id),
        call_id: Some(&row.call_id),
        challenge_id: Some(&row.id),
    };
    let caller_key = limits::caller_key(row.caller_e164.as_deref(), &row.call_id);
    let l = &state.settings.limits;
    let verdict = match limits::lockout_refusal(&mut tx, &row.org_id, &caller_key).await? {
        Some(r) => Err(r),
        None => match limits::charge(
            state,
            &mut tx,
            &[
                Charge {
                    quota: "checks_per_caller",
                    key: &limits::org_caller(&row.org_id, &caller_key),
                    limit: l.checks_per_caller,
                },
                Charge {
                    quota: "checks_per_org",
                    key: &row.org_id,
                    limit: l.checks_per_org,
                },
                Charge {
                    quota: "checks_per_agent",
                    key: &agent.name,
                    limit: l.checks_per_agent,
                },
            ],
        )
        .await?
        {
            Ok(()) => {
                limits::charge_distinct(
                    state,
                    &mut tx,
                    "orgs_per_agent",
                    &agent.name,
                    &row.org_id,
                    l.orgs_per_agent,
                )
                .await?
            }
            refused => refused,
        },
    };
    if let Err(r) = verdict {
        drop(tx);
        return Err(limits::refused(state, r, ctx()).await);
    }
    let reserved = challenges::reserve_attempt(tx.conn(), &row.id, now).await?;
    let Some((used, max)) = reserved else {
        let status = effective_status(&row, now);
        if status == ChallengeStatus::Expired
            && challenges::expire_if_due(tx.conn(), &row.id, now).await?
        {
            messages::wipe_for_challenge(tx.conn(), &row.id, now).await?;
            tx.audit(
                NewEvent::new(EventKind::ChallengeExpired, "system", Outcome::Success)
                    .org(&row.org_id)
                    .call(&row.call_id)
                    .challenge(&row.id),
            );
            tx.commit().await?;
        }
        if status == ChallengeStatus::Pending {
            // Every attempt is reserved by requests still being evaluated.
            return Err(ServiceError::conflict(
                "no-attempts-left",
                "no attempts are left on this challenge",
                Some(ChallengeStatus::Pending.as_str()),
            ));
        }
        return Err(not_pending(status));
    };
    tx.commit().await?;

    let matched = state
        .verify_pin(pin, Some(row.pin_hash.clone()))
        .await
        .map_err(ServiceError::Internal)?;

    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    // The call before the challenge, as a hang-up takes them.
    super::calls::lock_call(&mut tx, &row.call_id).await?;
    let event = |kind, outcome| {
        NewEvent::new(kind, agent.actor(), outcome)
            .org(&row.org_id)
            .call(&row.call_id)
            .challenge(&row.id)
            .detail("attempt", used)
            .detail("max_attempts", max)
    };
    if matched {
        if !challenges::settle(tx.conn(), &row.id, ChallengeStatus::Approved.as_str(), now).await? {
            drop(tx);
            let current = load(state, challenge_id).await?;
            return Err(not_pending(effective_status(&current, now)));
        }
        messages::wipe_for_challenge(tx.conn(), &row.id, now).await?;
        calls::set_verification(
            tx.conn(),
            &row.call_id,
            Verification::Verified.as_str(),
            now,
        )
        .await?;
        tx.audit(event(EventKind::PinCheckApproved, Outcome::Success));
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
        return Ok(CheckResult::Approved(Box::new(grant)));
    }
    let lockout = limits::count_failure(state, &mut tx, &row.org_id, &caller_key).await?;
    if let Some(l) = &lockout {
        tx.audit(
            event(EventKind::PinLockout, Outcome::Failure)
                .detail("lockout_id", l.id.as_str())
                .detail("caller", limits::pseudonymous_key(state, &caller_key))
                .detail("until", crate::clock::rfc3339(l.until)),
        );
        super::notices::lockout(state, &mut tx, &row.org_id, &row.call_id, l.until).await?;
    }
    let result = if used >= max || lockout.is_some() {
        let locked = if lockout.is_some() {
            challenges::settle(tx.conn(), &row.id, ChallengeStatus::Locked.as_str(), now).await?
        } else {
            challenges::lock_if_exhausted(tx.conn(), &row.id, now).await?
        };
        if locked {
            messages::wipe_for_challenge(tx.conn(), &row.id, now).await?;
            calls::set_verification(tx.conn(), &row.call_id, Verification::Failed.as_str(), now)
                .await?;
        }
        tx.audit(event(EventKind::PinCheckLocked, Outcome::Failure));
        CheckResult::Locked
    } else {
        tx.audit(event(EventKind::PinCheckFailed, Outcome::Failure));
        CheckResult::Wrong {
            attempts_left: max - used,
        }
    };
    tx.commit().await?;
    if lockout.is_some() {
        state.wake_outbox();
    }
    metrics::counter!("pingate_pin_checks_total", "outcome" => "wrong").increment(1);
    Ok(result)
}
