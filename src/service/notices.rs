//! Notices to an organisation's registered contacts: every grant, and
//! every lockout, is announced on each contact the profile has. Queued in
//! the transaction of the change they announce, and read through it: a
//! request holding a transaction must never wait for a second pooled
//! connection, or a busy pool deadlocks on itself.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::{Millis, rfc3339};
use crate::delivery::{self, Outgoing, templates};
use crate::domain::email::EmailAddress;
use crate::domain::message::MessageKind;
use crate::domain::org::{Channel, Destination, OrgProfile};
use crate::domain::verification::GrantBasis;
use crate::store::grants::GrantRow;
use crate::store::{WriteTx, orgs};

use super::ServiceResult;

pub async fn grant(
    state: &AppState,
    tx: &mut WriteTx,
    g: &GrantRow,
    agent: &str,
    basis: GrantBasis,
) -> ServiceResult<()> {
    let Some(org) = orgs::get_on(tx.conn(), &g.org_id).await? else {
        return Ok(());
    };
    let at = rfc3339(g.created_at);
    let notice = templates::GrantNotice {
        org_name: &org.name,
        agent,
        at: &at,
        call_id: &g.call_id,
        minutes: ((g.expires_at - g.created_at) / 60_000) as u64,
        basis: basis.as_str(),
    };
    let refs = Refs {
        kind: MessageKind::GrantNotice,
        call_id: &g.call_id,
        challenge_id: g.challenge_id.as_deref(),
        grant_id: Some(&g.id),
    };
    to_every_contact(state, tx, &org, refs, |channel| match channel {
        Channel::Email => templates::grant_notice_email(&notice),
        Channel::Sms => templates::grant_notice_sms(&notice),
    })
    .await
}

pub async fn lockout(
    state: &AppState,
    tx: &mut WriteTx,
    org_id: &str,
    call_id: &str,
    until: Millis,
) -> ServiceResult<()> {
    let Some(org) = orgs::get_on(tx.conn(), org_id).await? else {
        return Ok(());
    };
    let until = rfc3339(until);
    let refs = Refs {
        kind: MessageKind::LockoutNotice,
        call_id,
        challenge_id: None,
        grant_id: None,
    };
    to_every_contact(state, tx, &org, refs, |channel| match channel {
        Channel::Email => templates::lockout_notice_email(&org.name, call_id, &until),
        Channel::Sms => templates::lockout_notice_sms(&org.name, call_id),
    })
    .await
}

/// An org reached its failure ceiling: its contacts and the
/// administrators (`limits.alert_emails`) are told.
pub async fn ceiling(
    state: &AppState,
    tx: &mut WriteTx,
    org_id: &str,
    call_id: &str,
    until: Millis,
) -> ServiceResult<()> {
    let Some(org) = orgs::get_on(tx.conn(), org_id).await? else {
        return Ok(());
    };
    let until = rfc3339(until);
    let refs = || Refs {
        kind: MessageKind::LockoutNotice,
        call_id,
        challenge_id: None,
        grant_id: None,
    };
    let email = templates::ceiling_notice_email(&org.name, call_id, &until);
    to_every_contact(state, tx, &org, refs(), |channel| match channel {
        Channel::Email => email.clone(),
        Channel::Sms => templates::ceiling_notice_sms(&org.name, call_id),
    })
    .await?;
    for admin in &state.settings.limits.alert_emails {
        // validate() refused any that does not parse.
        let Ok(address) = EmailAddress::parse(admin) else {
            continue;
        };
        let dest = Destination {
            address: address.as_str().to_string(),
            masked: address.mask(),
        };
        queue(state, tx, &org, refs(), Channel::Email, &dest, &email).await?;
    }
    Ok(())
}

/// What a notice is about.
#[derive(Clone)]
struct Refs<'a> {
    kind: MessageKind,
    call_id: &'a str,
    challenge_id: Option<&'a str>,
    grant_id: Option<&'a str>,
}

/// The contacts a notice to `org` goes to: each one the profile has,
/// but no SMS to a region `limits.sms_countries` refuses (as any message
/// there is refused; the other channel still carries the notice).
pub(crate) fn recipients(state: &AppState, org: &OrgProfile) -> Vec<(Channel, Destination)> {
    [Channel::Email, Channel::Sms]
        .into_iter()
        .filter_map(|channel| Some((channel, org.destination(channel)?)))
        .filter(|(channel, dest)| {
            *channel != Channel::Sms
                || super::pin_message::sms_region_refused(state, dest).is_none()
        })
        .collect()
}

/// Audits the SMS notice `recipients` left out, if it did.
fn audit_refused_sms(state: &AppState, tx: &mut WriteTx, org: &OrgProfile, refs: &Refs<'_>) {
    if let Some(dest) = org.destination(Channel::Sms)
        && let Some(region) = super::pin_message::sms_region_refused(state, &dest)
    {
        tx.audit(
            NewEvent::new(EventKind::SmsDestinationRefused, "system", Outcome::Failure)
                .org(org.id.as_str())
                .call(refs.call_id)
                .detail("region", region.as_str())
                .detail("message", refs.kind.as_str()),
        );
    }
}

/// Queues the notice on every contact the profile has.
async fn to_every_contact(
    state: &AppState,
    tx: &mut WriteTx,
    org: &OrgProfile,
    refs: Refs<'_>,
    render: impl Fn(Channel) -> templates::Rendered,
) -> ServiceResult<()> {
    audit_refused_sms(state, tx, org, &refs);
    for (channel, dest) in recipients(state, org) {
        let text = render(channel);
        queue(state, tx, org, refs.clone(), channel, &dest, &text).await?;
    }
    Ok(())
}

/// Queues one notice to one destination.
async fn queue(
    state: &AppState,
    tx: &mut WriteTx,
    org: &OrgProfile,
    refs: Refs<'_>,
    channel: Channel,
    dest: &Destination,
    text: &templates::Rendered,
) -> ServiceResult<()> {
    delivery::enqueue(
        tx,
        &state.sealer,
        Outgoing {
            kind: refs.kind,
            channel,
            org_id: org.id.as_str(),
            call_id: Some(refs.call_id),
            challenge_id: refs.challenge_id,
            grant_id: refs.grant_id,
            destination: &dest.address,
            destination_masked: &dest.masked,
            subject: &text.subject,
            body: &text.body,
        },
    )
    .await?;
    Ok(())
}
