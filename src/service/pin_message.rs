//! A challenge's PIN message: where it may go (the org's registered
//! contact on an accepted channel, SMS only to allowed regions), its text
//! in the org's language, and queueing it. A leaf: create and resend use it.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::delivery::{self, Outgoing, templates};
use crate::domain::message::MessageKind;
use crate::domain::org::{Channel, Destination, OrgProfile};
use crate::store::WriteTx;
use crate::store::challenges::ChallengeRow;

use super::{ServiceError, ServiceResult};

/// The org's registered destination on `channel`, if the org accepts
/// challenges there and has the contact.
pub(crate) fn destination(org: &OrgProfile, channel: Channel) -> ServiceResult<Destination> {
    if !org.accepts(channel) {
        return Err(ServiceError::invalid(
            "channel",
            format!(
                "organisation {} does not accept {} challenges",
                org.id.as_str(),
                channel.as_str()
            ),
        ));
    }
    org.destination(channel).ok_or_else(|| {
        ServiceError::invalid(
            "channel",
            format!(
                "organisation {} has no {} contact",
                org.id.as_str(),
                channel.as_str()
            ),
        )
    })
}

/// The region of an SMS destination when `limits.sms_countries` does not
/// allow it (SMS pumping to premium ranges is paid by the deployment).
pub(crate) fn sms_region_refused(state: &AppState, dest: &Destination) -> Option<String> {
    let allowed = &state.settings.limits.sms_countries;
    if allowed.iter().any(|c| c == "*") {
        return None;
    }
    let region = crate::domain::phone::E164::parse(&dest.address)
        .ok()
        .and_then(|n| n.region())
        .unwrap_or_default();
    (!allowed.contains(&region)).then_some(region)
}

/// SMS goes only to regions on the allow-list. The refusal is audited.
pub(crate) async fn sms_region_allowed(
    state: &AppState,
    actor: &str,
    org: &OrgProfile,
    call_id: &str,
    dest: &Destination,
) -> ServiceResult<()> {
    let Some(region) = sms_region_refused(state, dest) else {
        return Ok(());
    };
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

/// The PIN message for a channel, in the org's language.
pub(crate) fn render(
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

/// Queues a challenge's PIN message to `to` inside `tx`.
pub(crate) async fn enqueue(
    state: &AppState,
    tx: &mut WriteTx,
    row: &ChallengeRow,
    channel: Channel,
    to: &Destination,
    body: &templates::Rendered,
) -> ServiceResult<()> {
    delivery::enqueue(
        tx,
        &state.sealer,
        Outgoing {
            kind: MessageKind::Pin,
            channel,
            org_id: &row.org_id,
            call_id: Some(&row.call_id),
            challenge_id: Some(&row.id),
            grant_id: None,
            destination: &to.address,
            destination_masked: &to.masked,
            subject: &body.subject,
            body: &body.body,
        },
    )
    .await?;
    Ok(())
}
