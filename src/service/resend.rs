//! Resends: the same PIN again while the challenge is pending, on its
//! channel or — a fallback when a message failed — on the org's other
//! registered channel. Never to a destination outside the profile.

use secrecy::ExposeSecret;

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::org::Channel;
use crate::store::challenges::{self, ChallengeRow};
use crate::store::{messages, orgs};
use crate::domain::verification::ChallengeStatus;

use super::challenges::{
    destination, effective_status, enqueue_pin, load, not_pending, render_pin, sms_country_allowed,
};
use super::limits::{self, Charge, Context};
use super::{ServiceError, ServiceResult};

/// Who asks for the resend: an agent, or the system's fallback.
pub struct Requester<'a> {
    pub actor: &'a str,
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
    let current: Channel = row
        .channel
        .parse()
        .map_err(|_| ServiceError::Internal("stored channel".into()))?;
    let target = channel.unwrap_or(current);
    let org = orgs::get(state.store.reader(), &row.org_id)
        .await?
        .ok_or(ServiceError::NotFound("organisation"))?;
    if !org.channels.contains(&target) {
        return Err(ServiceError::invalid(
            "channel",
            format!(
                "organisation {} does not accept {} challenges",
                row.org_id,
                target.as_str()
            ),
        ));
    }
    let (dest, masked) = destination(&org, target).ok_or_else(|| {
        ServiceError::invalid(
            "channel",
            format!(
                "organisation {} has no {} contact",
                row.org_id,
                target.as_str()
            ),
        )
    })?;
    if target == Channel::Sms {
        sms_country_allowed(state, who.actor, &org, &row.call_id, &dest).await?;
    }

    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    // The call before the challenge and the quotas, as `create` and a
    // hang-up take them.
    super::calls::lock_call(&mut tx, &row.call_id).await?;
    // Decided under the call's lock, so two fallbacks for one challenge
    // (two failure reports at once) send one PIN.
    if who.once_per_channel
        && messages::pin_channels_for_challenge(tx.conn(), &row.id)
            .await?
            .iter()
            .any(|c| c == target.as_str())
    {
        return Err(ServiceError::conflict(
            "already-sent",
            format!("this PIN already went out by {}", target.as_str()),
            None,
        ));
    }
    let ctx = || Context {
        actor: who.actor,
        org_id: Some(&row.org_id),
        call_id: Some(&row.call_id),
        challenge_id: Some(&row.id),
    };
    let caller_key = limits::caller_key(row.caller_e164.as_deref(), &row.call_id);
    if let Some(r) = limits::lockout_refusal(&mut tx, &row.org_id, &caller_key).await? {
        drop(tx);
        return Err(limits::refused(state, r, ctx()).await);
    }
    let Some(sends) = challenges::reserve_send(
        tx.conn(),
        &row.id,
        i64::from(state.settings.pin.max_sends),
        now,
    )
    .await?
    else {
        drop(tx);
        let status = effective_status(&row, now);
        if status == ChallengeStatus::Pending {
            return Err(ServiceError::TooMany {
                detail: format!(
                    "this PIN was already sent {} times (pin.max_sends)",
                    row.sends
                ),
                retry_after_secs: ((row.expires_at - now).max(1000) / 1000) as u64,
            });
        }
        return Err(not_pending(status));
    };
    let l = &state.settings.limits;
    let mut charges = vec![Charge {
        quota: "sends_per_destination",
        key: &dest,
        limit: l.sends_per_destination,
    }];
    if target == Channel::Sms {
        charges.push(Charge {
            quota: "sms_global",
            key: "all",
            limit: l.sms_global,
        });
    }
    if let Err(r) = limits::charge(state, &mut tx, &charges).await? {
        drop(tx);
        return Err(limits::refused(state, r, ctx()).await);
    }
    let sealed = challenges::pin_sealed(tx.conn(), &row.id)
        .await?
        .ok_or_else(|| {
            ServiceError::conflict(
                "pin-unavailable",
                "this challenge's PIN can no longer be sent",
                None,
            )
        })?;
    let pin = state
        .sealer
        .open(&sealed, &row.id)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let body = render_pin(state, &org, target, pin.expose_secret());
    enqueue_pin(state, &mut tx, &row, target, (&dest, &masked), &body).await?;
    tx.audit(
        NewEvent::new(EventKind::ChallengeResent, who.actor, Outcome::Success)
            .org(&row.org_id)
            .call(&row.call_id)
            .challenge(&row.id)
            .detail("send", sends)
            .detail("channel", target.as_str())
            .detail("destination", masked.as_str())
            .detail("fallback", target != current),
    );
    tx.commit().await?;
    state.wake_outbox();
    load(state, challenge_id).await
}

/// With `delivery.auto_fallback`, a PIN message that failed for good (or
/// was reported undelivered) is followed by the same PIN on the org's
/// other registered channel, once per challenge.
pub async fn auto_fallback(state: &AppState, challenge_id: &str, failed_channel: &str) {
    if !state.settings.delivery.auto_fallback {
        return;
    }
    let other = match failed_channel {
        "email" => Channel::Sms,
        _ => Channel::Email,
    };
    let who = Requester {
        actor: "system:fallback",
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
