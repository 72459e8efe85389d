//! Access grants: issued on approval or for a trusted number, announced to
//! the org's registered contacts, introspected by support tooling, revoked.

use secrecy::{ExposeSecret, SecretString};

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::rfc3339;
use crate::domain::verification::{GrantBasis, Verification, grant_active};
use crate::ids;
use crate::store::WriteTx;
use crate::store::grants::{self, GrantRow};
use crate::store::principals::{Principal, Role};

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
    grants::insert(tx.conn(), &row, &token.hash).await?;
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

/// `POST /v1/calls/{id}/grant`: only for calls from a trusted number.
pub async fn issue_for_trusted_call(
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
    let org_id = call
        .org_id
        .clone()
        .ok_or(InternalError::Invariant("a trusted call without an org"))?;
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

pub async fn get(state: &AppState, grant_id: &str) -> ServiceResult<GrantRow> {
    if !ids::looks_like("grt", grant_id) {
        return Err(ServiceError::NotFound("grant"));
    }
    grants::get(state.store.reader(), grant_id)
        .await?
        .ok_or(ServiceError::NotFound("grant"))
}

pub async fn revoke(state: &AppState, by: &Principal, grant_id: &str) -> ServiceResult<GrantRow> {
    let grant = get(state, grant_id).await?;
    let now = state.clock.now_ms();
    if by.role == Role::Agent && grant.agent != by.name {
        let mut tx = state.store.begin(now).await?;
        tx.audit(
            NewEvent::new(EventKind::AuthzFail, by.actor(), Outcome::Failure)
                .org(&grant.org_id)
                .grant(&grant.id)
                .detail("action", "revoke another agent's grant"),
        );
        tx.commit().await?;
        return Err(ServiceError::Forbidden(
            "agents revoke only their own grants; an admin can revoke any".into(),
        ));
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
/// tokens all answer inactive, with nothing else.
pub async fn introspect(state: &AppState, token: &SecretString) -> ServiceResult<Introspection> {
    let row = grants::by_token_hash(
        state.store.reader(),
        &ids::token_hash(token.expose_secret()),
    )
    .await?;
    let now = state.clock.now_ms();
    Ok(match row {
        Some(g) if grant_active(now, g.expires_at, g.revoked_at) => Introspection {
            active: true,
            grant: Some(g),
        },
        _ => Introspection {
            active: false,
            grant: None,
        },
    })
}
