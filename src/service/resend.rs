//! Resends: the same PIN again while the challenge is pending, on its
//! channel or — a fallback when a message failed — on the org's other
//! registered channel. Never to a destination outside the profile.

use secrecy::ExposeSecret;

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::challenge::{ResendRefusal, Step};
use crate::domain::org::{Channel, Destination, OrgProfile};
use crate::store::challenges::{self, ChallengeRow};
use crate::store::principals::Principal;
use crate::store::{WriteTx, messages, orgs};

use super::challenges::{load, not_pending};
use super::limits::{self, Admission, Charge, Context, Quota};
use super::{ServiceError, ServiceResult, pin_message};

/// Who asks for the resend: an agent, or the system's fallback.
pub struct Requester<'a> {
    pub actor: &'a str,
    /// The agent asking, who must handle the call; None for the system.
    pub agent: Option<&'a Principal>,
    /// The fallback: send only if the PIN never went out on that channel.
    pub once_per_channel: bool,
}

pub async fn resend(
    state: &AppState,
    who: Requester<'_>,
    challenge_id: &str,
    channel: Option<Channel>,
) -> ServiceResult<ChallengeRow> {
    let row = load(state, challenge_id).await?;
    let agent = who.agent;
    let result = resend_row(state, who, row.clone(), channel).await;
    match agent {
        Some(a) => super::handling::audited(state, a, &row.call_id, "resend", result).await,
        None => result,
    }
}

async fn resend_row(
    state: &AppState,
    who: Requester<'_>,
    row: ChallengeRow,
    channel: Option<Channel>,
) -> ServiceResult<ChallengeRow> {
    let challenge_id = row.id.as_str();
    let target = channel.unwrap_or(row.channel);
    let org = orgs::get(state.store.reader(), &row.org_id)
        .await?
        .ok_or(ServiceError::NotFound("organisation"))?;
    let dest = pin_message::destination(&org, target)?;
    if target == Channel::Sms {
        pin_message::sms_region_allowed(state, who.actor, &org, &row.call_id, &dest).await?;
    }
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    // The call before the challenge and the quotas, as `create` and a
    // hang-up take them.
    let call = super::calls::lock_call(&mut tx, &row.call_id).await?;
    if let Some(agent) = who.agent {
        super::handling::act_on(&mut tx, &call, agent).await?;
    }
    // Decided under the call's lock, so two fallbacks for one challenge
    // (two failure reports at once) send one PIN.
    if who.once_per_channel {
        not_sent_by(&mut tx, &row, target).await?;
    }
    let ctx = || Context {
        challenge_id: Some(&row.id),
        ..Context::on_call(who.actor, &row.org_id, &row.call_id)
    };
    let caller_key = limits::caller_key(row.caller_e164.as_deref());
    let lockout = Admission {
        lockout: Some((&row.org_id, &caller_key)),
        ..Admission::default()
    };
    let mut tx = limits::admit(state, tx, lockout, ctx()).await?;
    let sends = reserve_send(state, &mut tx, &row, now).await?;
    let mut tx = limits::admit(state, tx, send_quotas(target, &dest), ctx()).await?;
    send_again(state, &mut tx, &row, &org, (target, &dest)).await?;
    tx.audit(
        NewEvent::new(EventKind::ChallengeResent, who.actor, Outcome::Success)
            .org(&row.org_id)
            .call(&row.call_id)
            .challenge(&row.id)
            .detail("send", sends)
            .detail("channel", target.as_str())
            .detail("destination", dest.masked.as_str())
            .detail("fallback", target != row.channel),
    );
    tx.commit().await?;
    state.wake_outbox();
    load(state, challenge_id).await
}

/// The quotas one more message charges: per destination, and SMS
/// deployment-wide.
fn send_quotas(channel: Channel, dest: &Destination) -> Admission<'_> {
    let mut charges = vec![Charge::new(Quota::SendsPerDestination, &dest.address)];
    if channel == Channel::Sms {
        charges.push(Charge::new(Quota::SmsGlobal, "all"));
    }
    Admission {
        charges,
        ..Admission::default()
    }
}

/// Refuses when the challenge's PIN already went out on `channel`.
async fn not_sent_by(tx: &mut WriteTx, row: &ChallengeRow, channel: Channel) -> ServiceResult<()> {
    let sent = messages::pin_channels_for_challenge(tx.conn(), &row.id).await?;
    if sent.contains(&channel) {
        return Err(ServiceError::conflict(
            "already-sent",
            format!("this PIN already went out by {}", channel.as_str()),
            None,
        ));
    }
    Ok(())
}

/// Counts one more send, as the model decides and the store's guard
/// enforces; refuses at `pin.max_sends` or once the challenge is over.
async fn reserve_send(
    state: &AppState,
    tx: &mut WriteTx,
    row: &ChallengeRow,
    now: i64,
) -> ServiceResult<i64> {
    let max_sends = state.settings.pin.max_sends;
    let decided = row.model().resend(now, max_sends);
    if decided.is_ok()
        && let Some(c) =
            challenges::apply(tx.conn(), &row.id, Step::ReserveSend { max_sends }, now).await?
    {
        return Ok(c.sends);
    }
    match decided {
        // The row moved since it was read: another resend took the last one.
        Ok(_) | Err(ResendRefusal::LimitReached) => Err(ServiceError::TooMany {
            detail: format!(
                "this PIN was already sent {} times (pin.max_sends)",
                row.sends
            ),
            retry_after_secs: ((row.expires_at - now).max(1000) / 1000) as u64,
        }),
        Err(ResendRefusal::NotPending(status)) => Err(not_pending(status)),
    }
}

/// Queues the challenge's PIN (as sealed when it was created) to `to`.
async fn send_again(
    state: &AppState,
    tx: &mut WriteTx,
    row: &ChallengeRow,
    org: &OrgProfile,
    (channel, to): (Channel, &Destination),
) -> ServiceResult<()> {
    let sealed = challenges::pin_sealed(tx.conn(), &row.id)
        .await?
        .ok_or_else(|| {
            ServiceError::conflict(
                "pin-unavailable",
                "this challenge's PIN can no longer be sent",
                None,
            )
        })?;
    let pin = state.sealer.open(&sealed, &row.id)?;
    let body = pin_message::render(state, org, channel, pin.expose_secret());
    pin_message::enqueue(state, tx, row, channel, to, &body).await
}

/// With `delivery.auto_fallback`, a PIN message that failed for good (or
/// was reported undelivered) is followed by the same PIN on the org's
/// other registered channel, once per challenge.
pub async fn auto_fallback(state: &AppState, challenge_id: &str, failed_channel: Channel) {
    if !state.settings.delivery.auto_fallback {
        return;
    }
    let other = match failed_channel {
        Channel::Email => Channel::Sms,
        Channel::Sms => Channel::Email,
    };
    let who = Requester {
        actor: "system:fallback",
        agent: None,
        once_per_channel: true,
    };
    match resend(state, who, challenge_id, Some(other)).await {
        Ok(_) => tracing::info!(
            challenge_id,
            channel = other.as_str(),
            "PIN sent on the fallback channel"
        ),
        Err(e) => tracing::info!(challenge_id, error = %e, "no fallback sent"),
    }
}
