//! Access grants: issued on approval or for a trusted number, announced to
//! the org's registered contacts, introspected by support tooling, revoked.

use secrecy::{ExposeSecret, SecretString};

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::rfc3339;
use crate::domain::handling::{issuer_vouches, may_see_grant};
use crate::domain::org::{Channel, Destination};
use crate::domain::verification::{GrantBasis, Verification, grant_active};
use crate::ids;
use crate::store::grants::{self, GrantRow};
use crate::store::principals::{self, Principal, Role};
use crate::store::{WriteTx, orgs};

use super::limits::{self, Admission, Charge, Context, Distinct, Quota};
use super::{InternalError, ServiceError, ServiceResult};

/// A grant and its bearer token, which is shown once and never stored.
pub struct IssuedGrant {
    pub row: GrantRow,
    pub token: SecretString,
}

impl std::fmt::Debug for IssuedGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedGrant")
            .field("row", &self.row)
            .field("token", &"***")
            .finish()
    }
}

/// Issues a grant inside the caller's transaction and queues the notices.
pub(crate) async fn issue_in(
    state: &AppState,
    tx: &mut WriteTx,
    agent: &Principal,
    org_id: &str,
    call_id: &str,
    challenge_id: Option<&str>,
    basis: GrantBasis,
) -> ServiceResult<IssuedGrant> {
    let now = tx.now();
    let token = ids::new_token("pgg_")?;
    let ttl = state.settings.grant.ttl.0;
    let row = GrantRow {
        id: ids::grant_id(),
        agent: agent.name.clone(),
        org_id: org_id.to_string(),
        call_id: call_id.to_string(),
        challenge_id: challenge_id.map(str::to_string),
        basis,
        created_at: now,
        expires_at: now + ttl.as_millis() as i64,
        revoked_at: None,
        revoked_by: None,
    };
    // One active grant per (call, agent): an expired one gives up its slot,
    // and the unique index refuses a second open one, whoever races.
    grants::close_expired(tx.conn(), call_id, &agent.name, now).await?;
    if !grants::insert(tx.conn(), &row, &token.hash).await? {
        let existing = grants::open_for(tx.conn(), call_id, &agent.name)
            .await?
            .ok_or(InternalError::Invariant(
                "a refused grant has no open grant",
            ))?;
        return Err(ServiceError::GrantExists {
            grant_id: existing.id,
        });
    }
    let mut ev = NewEvent::new(EventKind::GrantIssued, agent.actor(), Outcome::Success)
        .org(org_id)
        .call(call_id)
        .grant(&row.id)
        .detail("basis", basis.as_str())
        .detail("expires_at", rfc3339(row.expires_at));
    if let Some(c) = challenge_id {
        ev = ev.challenge(c);
    }
    tx.audit(ev);

    // A grant nobody hears about hides an intrusion.
    super::notices::grant(state, tx, &row, &agent.name, basis).await?;
    metrics::counter!("pingate_grants_total", "basis" => basis.as_str()).increment(1);
    Ok(IssuedGrant {
        row,
        token: token.secret,
    })
}

/// `POST /v1/calls/{id}/grant`: only for calls from a trusted number, by
/// the agent handling the call (or claiming it with this grant).
pub async fn issue_for_trusted_call(
    state: &AppState,
    agent: &Principal,
    call_id: &str,
) -> ServiceResult<IssuedGrant> {
    let result = trusted_grant(state, agent, call_id).await;
    super::handling::audited(state, agent, call_id, "grant", result).await
}

async fn trusted_grant(
    state: &AppState,
    agent: &Principal,
    call_id: &str,
) -> ServiceResult<IssuedGrant> {
    let mut tx = state.store.begin(state.clock.now_ms()).await?;
    let call = super::calls::lock_call(&mut tx, call_id).await?;
    super::calls::ensure_active(&call)?;
    if call.verification != Verification::TrustedNumber {
        return Err(ServiceError::conflict(
            "not-trusted",
            "only a call from a registered, attested number gets a grant without a PIN",
            Some(call.verification.as_str()),
        ));
    }
    super::handling::act_on(&mut tx, &call, agent).await?;
    let org_id = call
        .org_id
        .clone()
        .ok_or(InternalError::Invariant("a trusted call without an org"))?;
    let mut tx = admit_trusted_grant(state, tx, agent, &call.id, &org_id).await?;
    let grant = issue_in(
        state,
        &mut tx,
        agent,
        &org_id,
        &call.id,
        None,
        GrantBasis::TrustedNumber,
    )
    .await?;
    tx.commit().await?;
    state.wake_outbox();
    Ok(grant)
}

/// A trusted grant spends the agent's quotas as a challenge does, and its
/// notices count as messages (per destination, and SMS deployment-wide).
async fn admit_trusted_grant(
    state: &AppState,
    tx: WriteTx,
    agent: &Principal,
    call_id: &str,
    org_id: &str,
) -> ServiceResult<WriteTx> {
    let mut tx = tx;
    let recipients = notice_recipients(state, &mut tx, org_id).await?;
    let mut charges = vec![Charge::new(Quota::ChallengesPerAgent, &agent.name)];
    charges.extend(notice_charges(&recipients));
    let admission = Admission {
        lockout: None,
        // A trusted number is served even when the org's ceiling is spent.
        ceiling: false,
        charges,
        distinct: Some(Distinct::new(Quota::OrgsPerAgent, &agent.name, org_id)),
    };
    let actor = agent.actor();
    limits::admit(
        state,
        tx,
        admission,
        Context::on_call(&actor, org_id, call_id),
    )
    .await
}

/// A grant on a right PIN: its notices count as messages as a trusted
/// grant's do (the PIN's own send was charged when it was asked for), in
/// the approval's transaction, before anything is approved.
pub(crate) async fn admit_approval_notices(
    state: &AppState,
    tx: WriteTx,
    agent: &Principal,
    org_id: &str,
    call_id: &str,
    challenge_id: &str,
) -> ServiceResult<WriteTx> {
    let mut tx = tx;
    let recipients = notice_recipients(state, &mut tx, org_id).await?;
    let admission = Admission {
        charges: notice_charges(&recipients),
        ..Admission::default()
    };
    let actor = agent.actor();
    let ctx = Context {
        challenge_id: Some(challenge_id),
        ..Context::on_call(&actor, org_id, call_id)
    };
    limits::admit(state, tx, admission, ctx).await
}

/// Where a grant's notices will go, read through the change's transaction.
async fn notice_recipients(
    state: &AppState,
    tx: &mut WriteTx,
    org_id: &str,
) -> ServiceResult<Vec<(Channel, Destination)>> {
    let org = orgs::get_on(tx.conn(), org_id)
        .await?
        .ok_or(ServiceError::NotFound("organisation"))?;
    Ok(super::notices::recipients(state, &org))
}

/// What a grant's notices spend: one send per destination, and the SMS
/// budget for the SMS one.
fn notice_charges(recipients: &[(Channel, Destination)]) -> Vec<Charge<'_>> {
    let mut charges = Vec::new();
    for (channel, dest) in recipients {
        charges.push(Charge::new(Quota::SendsPerDestination, &dest.address));
        if *channel == Channel::Sms {
            charges.push(Charge::new(Quota::SmsGlobal, "all"));
        }
    }
    charges
}

pub async fn get(state: &AppState, grant_id: &str) -> ServiceResult<GrantRow> {
    if !ids::looks_like("grt", grant_id) {
        return Err(ServiceError::NotFound("grant"));
    }
    grants::get(state.store.reader(), grant_id)
        .await?
        .ok_or(ServiceError::NotFound("grant"))
}

/// A grant as `viewer` may see it: an agent only their own (another's is
/// not found), an admin any.
pub async fn get_visible(
    state: &AppState,
    viewer: &Principal,
    grant_id: &str,
) -> ServiceResult<GrantRow> {
    let g = get(state, grant_id).await?;
    if !may_see_grant(&viewer.name, viewer.role == Role::Admin, &g.agent) {
        return Err(ServiceError::NotFound("grant"));
    }
    Ok(g)
}

/// The grants of a call that `viewer` may see.
pub fn visible(viewer: &Principal, rows: Vec<GrantRow>) -> Vec<GrantRow> {
    let admin = viewer.role == Role::Admin;
    rows.into_iter()
        .filter(|g| may_see_grant(&viewer.name, admin, &g.agent))
        .collect()
}

/// Revokes the active grants of a principal being disabled (all of them)
/// or rotated (those issued before `issued_before`), inside the change's
/// transaction, one audit event each.
pub(crate) async fn revoke_for_principal(
    tx: &mut WriteTx,
    actor: &str,
    name: &str,
    issued_before: Option<i64>,
    reason: &str,
) -> ServiceResult<()> {
    let now = tx.now();
    let ended = grants::revoke_for_agent(tx.conn(), name, actor, now, issued_before).await?;
    super::handling::audit_revoked(tx, actor, &ended, reason);
    Ok(())
}

/// Revokes a grant `by` may see: an agent's own, or any for an admin.
/// Another agent's grant answers not found, as its `GET` does, so no verb
/// tells an agent which grant ids exist; the attempt is still audited.
pub async fn revoke(state: &AppState, by: &Principal, grant_id: &str) -> ServiceResult<GrantRow> {
    let grant = get(state, grant_id).await?;
    let now = state.clock.now_ms();
    if !may_see_grant(&by.name, by.role == Role::Admin, &grant.agent) {
        let mut tx = state.store.begin(now).await?;
        tx.audit(
            NewEvent::new(EventKind::AuthzFail, by.actor(), Outcome::Failure)
                .org(&grant.org_id)
                .grant(&grant.id)
                .detail("action", "revoke another agent's grant"),
        );
        tx.commit().await?;
        return Err(ServiceError::NotFound("grant"));
    }
    let mut tx = state.store.begin(now).await?;
    if grants::revoke(tx.conn(), &grant.id, &by.actor(), now).await? {
        tx.audit(
            NewEvent::new(EventKind::GrantRevoked, by.actor(), Outcome::Success)
                .org(&grant.org_id)
                .call(&grant.call_id)
                .grant(&grant.id),
        );
    }
    tx.commit().await?;
    get(state, grant_id).await
}

pub struct Introspection {
    pub active: bool,
    pub grant: Option<GrantRow>,
}

/// "May this agent act on this org now?" Unknown, expired and revoked
/// tokens all answer inactive, with nothing else; so does a grant whose
/// agent has since been disabled, expired or rotated (read from the
/// database on each call, so it holds on every instance at once).
pub async fn introspect(state: &AppState, token: &SecretString) -> ServiceResult<Introspection> {
    let pool = state.store.reader();
    let row = grants::by_token_hash(pool, &ids::token_hash(token.expose_secret())).await?;
    let now = state.clock.now_ms();
    let inactive = Introspection {
        active: false,
        grant: None,
    };
    let Some(g) = row.filter(|g| grant_active(now, g.expires_at, g.revoked_at)) else {
        return Ok(inactive);
    };
    let issuer = principals::issuer(pool, &g.agent).await?;
    if !issuer_vouches(now, g.created_at, issuer) {
        return Ok(inactive);
    }
    Ok(Introspection {
        active: true,
        grant: Some(g),
    })
}
