//! Principals: creating, listing, disabling and rotating bearer tokens,
//! and resolving a token to its principal. Each change is audited in the
//! transaction that makes it.

use secrecy::{ExposeSecret, SecretString};

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::Millis;
use crate::ids;
use crate::store::StoreError;
use crate::store::principals::{self, Principal, PrincipalRow, Role};

use super::{ServiceError, ServiceResult};

fn check_name(name: &str) -> ServiceResult<&str> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
    {
        return Err(ServiceError::invalid(
            "name",
            "use 1 to 64 letters, digits, '.', '_', '@' or '-'",
        ));
    }
    Ok(name)
}

fn check_expiry(now: Millis, expires_at: Option<Millis>) -> ServiceResult<()> {
    match expires_at {
        Some(at) if at <= now => Err(ServiceError::invalid("expires_at", "must be in the future")),
        _ => Ok(()),
    }
}

fn new_token() -> ServiceResult<ids::NewToken> {
    ids::new_token("pga_").map_err(|e| ServiceError::Internal(e.into()))
}

/// Creates a principal that never expires; the token is returned once.
pub async fn add(
    state: &AppState,
    actor: &str,
    name: &str,
    role: Role,
) -> ServiceResult<SecretString> {
    add_expiring(state, actor, name, role, None).await
}

/// Creates a principal; the token is returned once and stored as a hash.
pub async fn add_expiring(
    state: &AppState,
    actor: &str,
    name: &str,
    role: Role,
    expires_at: Option<Millis>,
) -> ServiceResult<SecretString> {
    let name = check_name(name)?;
    let now = state.clock.now_ms();
    check_expiry(now, expires_at)?;
    let token = new_token()?;
    let id = ids::principal_id();
    let mut tx = state.store.begin(now).await?;
    principals::create(tx.conn(), &id, name, role, &token.hash, now, expires_at)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                ServiceError::invalid("name", format!("{name} already exists"))
            }
            other => other.into(),
        })?;
    let mut event = NewEvent::new(EventKind::PrincipalCreated, actor, Outcome::Success)
        .detail("principal", format!("{}:{name}", role.as_str()))
        .detail("role", role.as_str());
    if let Some(at) = expires_at {
        event = event.detail("expires_at", crate::clock::rfc3339(at));
    }
    tx.audit(event);
    tx.commit().await?;
    Ok(token.secret)
}

/// Every principal, by name: a page after `after`, at most `limit`.
pub async fn list(
    state: &AppState,
    after: Option<&str>,
    limit: i64,
) -> ServiceResult<Vec<PrincipalRow>> {
    Ok(principals::list(state.store.reader(), after, limit).await?)
}

/// Why a principal cannot be changed: unknown, or already disabled.
async fn refusal(tx: &mut crate::store::WriteTx, name: &str) -> ServiceError {
    match principals::by_name(tx.conn(), name).await {
        Ok(Some(_)) => ServiceError::conflict(
            "principal-disabled",
            format!("principal {name} is disabled"),
            Some("disabled"),
        ),
        Ok(None) => ServiceError::NotFound("principal"),
        Err(e) => e.into(),
    }
}

/// Disables a principal: its token stops working at the next request on
/// every instance (tokens are looked up in the database each time), and
/// its active grants are revoked.
pub async fn disable(state: &AppState, actor: &str, name: &str) -> ServiceResult<PrincipalRow> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    let Some(row) = principals::disable(tx.conn(), name, now).await? else {
        return Err(refusal(&mut tx, name).await);
    };
    tx.audit(
        NewEvent::new(EventKind::PrincipalDisabled, actor, Outcome::Success)
            .detail("principal", row.principal().actor())
            .detail("role", row.role.as_str()),
    );
    // Its grants end with it (introspection checks the principal too).
    super::grants::revoke_for_principal(&mut tx, actor, &row.name, None, "principal_disabled")
        .await?;
    tx.commit().await?;
    Ok(row)
}

/// Gives a principal a new token (returned once) with the given expiry;
/// the old token stops working at once.
pub async fn rotate(
    state: &AppState,
    actor: &str,
    name: &str,
    expires_at: Option<Millis>,
) -> ServiceResult<(PrincipalRow, SecretString)> {
    let now = state.clock.now_ms();
    check_expiry(now, expires_at)?;
    let token = new_token()?;
    let mut tx = state.store.begin(now).await?;
    let Some(row) = principals::rotate(tx.conn(), name, &token.hash, now, expires_at).await? else {
        return Err(refusal(&mut tx, name).await);
    };
    let mut event = NewEvent::new(EventKind::PrincipalRotated, actor, Outcome::Success)
        .detail("principal", row.principal().actor())
        .detail("role", row.role.as_str());
    if let Some(at) = expires_at {
        event = event.detail("expires_at", crate::clock::rfc3339(at));
    }
    tx.audit(event);
    // Grants issued under the old token end with it.
    super::grants::revoke_for_principal(&mut tx, actor, &row.name, Some(now), "principal_rotated")
        .await?;
    tx.commit().await?;
    Ok((row, token.secret))
}

pub async fn authenticate(
    state: &AppState,
    token: &SecretString,
) -> ServiceResult<Option<Principal>> {
    Ok(principals::by_token_hash(
        state.store.reader(),
        &ids::token_hash(token.expose_secret()),
        state.clock.now_ms(),
    )
    .await?)
}
