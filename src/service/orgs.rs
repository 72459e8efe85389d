//! Organisation profiles: import (all-or-nothing, every error reported by
//! org and field), and the admin API's create, read, update, delete.

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::domain::org::{ImportError, OrgId, OrgProfile};
use crate::store::orgs::{self, Upserted};
use crate::store::{StoreError, WriteTx};

use super::{ServiceError, ServiceResult};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    /// Profiles identical to what is stored: not written, not audited.
    pub unchanged: Vec<String>,
}

/// Writes already-validated profiles in one transaction, after checking
/// them against the database (a number or account number of an org outside
/// the batch). Nothing is written unless everything passes; a profile that
/// is already stored as it is changes nothing and records nothing.
pub async fn save_all(
    state: &AppState,
    actor: &str,
    profiles: &[OrgProfile],
) -> ServiceResult<ImportReport> {
    save(state, actor, profiles, false).await
}

/// Creates one profile; an org with its id already there is a 409.
pub async fn create(state: &AppState, actor: &str, profile: &OrgProfile) -> ServiceResult<()> {
    save(state, actor, std::slice::from_ref(profile), true).await?;
    Ok(())
}

/// What in the batch collides with orgs outside it.
async fn conflicts(tx: &mut WriteTx, profiles: &[OrgProfile]) -> ServiceResult<Vec<ImportError>> {
    let batch: Vec<&str> = profiles.iter().map(|p| p.id.as_str()).collect();
    let mut errors = Vec::new();
    for p in profiles {
        let id = p.id.as_str();
        for (number, owner) in
            orgs::numbers_taken_elsewhere(tx.conn(), id, &p.registered_numbers).await?
        {
            if !batch.contains(&owner.as_str()) {
                let idx = p
                    .registered_numbers
                    .iter()
                    .position(|n| n.as_str() == number)
                    .unwrap_or(0);
                errors.push(ImportError {
                    org: id.to_string(),
                    field: format!("registered_numbers[{idx}]"),
                    message: format!("{number} is already registered to org {owner}"),
                });
            }
        }
        if let Some(owner) = orgs::account_number_owner(tx.conn(), id, &p.account_number).await?
            && !batch.contains(&owner.as_str())
        {
            errors.push(ImportError {
                org: id.to_string(),
                field: "account_number".into(),
                message: format!(
                    "{} is already the account number of org {owner}",
                    p.account_number
                ),
            });
        }
    }
    Ok(errors)
}

/// The profile as compared for "unchanged": numbers and channels as sets.
fn normalised(p: &OrgProfile) -> (OrgProfile, Vec<&'static str>) {
    let mut p = p.clone();
    p.registered_numbers
        .sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut channels: Vec<&'static str> = p.channels.iter().map(|c| c.as_str()).collect();
    channels.sort_unstable();
    p.channels.clear();
    (p, channels)
}

async fn save(
    state: &AppState,
    actor: &str,
    profiles: &[OrgProfile],
    create_only: bool,
) -> ServiceResult<ImportReport> {
    let mut tx = state.store.begin(state.clock.now_ms()).await?;
    let errors = conflicts(&mut tx, profiles).await?;
    if !errors.is_empty() {
        return Err(ServiceError::InvalidMany(errors));
    }
    let mut report = ImportReport::default();
    let mut changed = Vec::new();
    for p in profiles {
        let stored = orgs::get_on(tx.conn(), p.id.as_str()).await?;
        match stored {
            Some(s) if !create_only && normalised(&s) == normalised(p) => {
                report.unchanged.push(p.id.as_str().to_string());
            }
            _ => changed.push(p),
        }
    }
    // Release the batch's numbers first so numbers can move between orgs
    // of the same batch.
    for p in &changed {
        orgs::clear_numbers(tx.conn(), p.id.as_str()).await?;
    }
    for p in changed {
        match upsert(&mut tx, actor, p, create_only).await? {
            Upserted::Created => report.created.push(p.id.as_str().to_string()),
            Upserted::Updated => report.updated.push(p.id.as_str().to_string()),
        }
    }
    tx.commit().await?;
    Ok(report)
}

async fn upsert(
    tx: &mut WriteTx,
    actor: &str,
    p: &OrgProfile,
    create_only: bool,
) -> ServiceResult<Upserted> {
    let now = tx.now();
    let outcome = orgs::upsert(tx.conn(), p, now, create_only)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { field: "id", .. } => ServiceError::conflict(
                "org-exists",
                format!("org {} already exists; use PUT to update", p.id.as_str()),
                None,
            ),
            StoreError::Conflict { field, .. } => ServiceError::InvalidMany(vec![ImportError {
                org: p.id.as_str().to_string(),
                field: field.to_string(),
                message: "already used by another organisation".into(),
            }]),
            other => other.into(),
        })?;
    let kind = match outcome {
        Upserted::Created => EventKind::OrgCreated,
        Upserted::Updated => EventKind::OrgUpdated,
    };
    tx.audit(
        NewEvent::new(kind, actor, Outcome::Success)
            .org(p.id.as_str())
            .detail("registered_numbers", p.registered_numbers.len())
            .detail(
                "channels",
                p.channels
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
    );
    Ok(outcome)
}

pub async fn get(state: &AppState, id: &str) -> ServiceResult<OrgProfile> {
    orgs::get(state.store.reader(), id)
        .await?
        .ok_or(ServiceError::NotFound("organisation"))
}

pub async fn delete(state: &AppState, actor: &str, id: &str) -> ServiceResult<()> {
    let id = OrgId::parse(id).map_err(|_| ServiceError::NotFound("organisation"))?;
    let mut tx = state.store.begin(state.clock.now_ms()).await?;
    if !orgs::delete(tx.conn(), &id).await? {
        return Err(ServiceError::NotFound("organisation"));
    }
    tx.audit(NewEvent::new(EventKind::OrgDeleted, actor, Outcome::Success).org(id.as_str()));
    tx.commit().await?;
    Ok(())
}

/// The org a caller names, as an agent types it: its account number, its
/// id or its name (ignoring case). A name two orgs share names neither.
pub async fn find(state: &AppState, reference: &str) -> ServiceResult<String> {
    let reference = reference.trim();
    let field = "org";
    if reference.is_empty() || reference.len() > 200 {
        return Err(ServiceError::invalid(
            field,
            "type the account number or the organisation's name",
        ));
    }
    let pool = state.store.reader();
    if reference.bytes().all(|b| b.is_ascii_digit())
        && let Some(id) = orgs::org_for_account_number(pool, reference).await?
    {
        return Ok(id);
    }
    if orgs::get(pool, reference).await?.is_some() {
        return Ok(reference.to_string());
    }
    match orgs::ids_for_name(pool, reference).await?.as_slice() {
        [id] => Ok(id.clone()),
        [] => Err(ServiceError::invalid(
            field,
            "no organisation has that account number or name",
        )),
        _ => Err(ServiceError::invalid(
            field,
            "several organisations have that name; use the account number",
        )),
    }
}
