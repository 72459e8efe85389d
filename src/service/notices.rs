//! Notices to an organisation's registered contacts: every grant, and
//! every lockout, is announced on each contact the profile has. Queued in
//! the transaction of the change they announce.

use crate::app::AppState;
use crate::clock::{Millis, rfc3339};
use crate::delivery::{self, Outgoing, templates};
use crate::domain::org::Channel;
use crate::store::grants::GrantRow;
use crate::store::{WriteTx, orgs};
use crate::verification::GrantBasis;

use super::ServiceResult;
use super::challenges::destination;

pub async fn grant(
    state: &AppState,
    tx: &mut WriteTx,
    g: &GrantRow,
    agent: &str,
    basis: GrantBasis,
) -> ServiceResult<()> {
    let Some(org) = orgs::get(state.store.reader(), &g.org_id).await? else {
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
    for channel in [Channel::Email, Channel::Sms] {
        let Some((dest, masked)) = destination(&org, channel) else { continue };
        let text = match channel {
            Channel::Email => templates::grant_notice_email(&notice),
            Channel::Sms => templates::grant_notice_sms(&notice),
        };
        delivery::enqueue(
            tx,
            &state.sealer,
            Outgoing {
                kind: "grant_notice",
                channel,
                org_id: &g.org_id,
                call_id: Some(&g.call_id),
                challenge_id: g.challenge_id.as_deref(),
                grant_id: Some(&g.id),
                destination: &dest,
                destination_masked: &masked,
                subject: &text.subject,
                body: &text.body,
            },
        )
        .await?;
    }
    Ok(())
}

pub async fn lockout(
    state: &AppState,
    tx: &mut WriteTx,
    org_id: &str,
    call_id: &str,
    until: Millis,
) -> ServiceResult<()> {
    let Some(org) = orgs::get(state.store.reader(), org_id).await? else {
        return Ok(());
    };
    let until = rfc3339(until);
    for channel in [Channel::Email, Channel::Sms] {
        let Some((dest, masked)) = destination(&org, channel) else { continue };
        let text = match channel {
            Channel::Email => templates::lockout_notice_email(&org.name, call_id, &until),
            Channel::Sms => templates::lockout_notice_sms(&org.name, call_id),
        };
        delivery::enqueue(
            tx,
            &state.sealer,
            Outgoing {
                kind: "lockout_notice",
                channel,
                org_id,
                call_id: Some(call_id),
                challenge_id: None,
                grant_id: None,
                destination: &dest,
                destination_masked: &masked,
                subject: &text.subject,
                body: &text.body,
            },
        )
        .await?;
    }
    Ok(())
}
