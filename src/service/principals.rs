//! Principals: creating bearer tokens and resolving them.

use secrecy::{ExposeSecret, SecretString};

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::ids;
use crate::store::StoreError;
use crate::store::principals::{self, Principal, Role};

use super::{ServiceError, ServiceResult};

/// Creates a principal; the token is returned once and stored as a hash.
pub async fn add(
    state: &AppState,
    actor: &str,
    name: &str,
    role: Role,
) -> ServiceResult<SecretString> {
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
    let token = ids::new_token("pga_")?;
    let id = ids::principal_id();
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    principals::create(tx.conn(), &id, name, role, &token.hash, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                ServiceError::invalid("name", format!("{name} already exists"))
            }
            other => other.into(),
        })?;
    tx.audit(
        NewEvent::new(EventKind::PrincipalCreated, actor, Outcome::Success)
            .detail("principal", format!("{}:{name}", role.as_str()))
            .detail("role", role.as_str()),
    );
    tx.commit().await?;
    Ok(token.secret)
}

pub async fn authenticate(
    state: &AppState,
    token: &SecretString,
) -> ServiceResult<Option<Principal>> {
    Ok(principals::by_token_hash(
        state.store.reader(),
        &ids::token_hash(token.expose_secret()),
    )
    .await?)
}
