//! Principals (agents, reviewers, admins) and their bearer-token hashes.

use sqlx::{AnyConnection, AnyPool, Row};

use super::{StoreError, StoreResult, conflict_or};
use crate::clock::Millis;
use crate::verification::string_enum;

string_enum! {
    /// What a bearer token may do; each route names the one role it accepts.
    Role {
        Agent => "agent",
        Reviewer => "reviewer",
        Admin => "admin",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// The actor string in audit events: `agent:alice`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.name)
    }
}

pub async fn create(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    role: Role,
    token_hash: &[u8; 32],
    now: Millis,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO principals (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(role.as_str())
    .bind(token_hash.to_vec())
    .bind(now)
    .execute(conn)
    .await
    .map_err(|e| conflict_or(e, "principal", "name"))?;
    Ok(())
}

pub async fn by_token_hash(pool: &AnyPool, hash: &[u8; 32]) -> StoreResult<Option<Principal>> {
    let row = sqlx::query(
        "SELECT id, name, role FROM principals WHERE token_hash = $1 AND disabled_at IS NULL",
    )
    .bind(hash.to_vec())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = row.try_get("role")?;
    Ok(Some(Principal {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("principal role {role:?}")))?,
    }))
}

/// A principal as an administrator lists it (no token hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalListing {
    pub name: String,
    pub role: Role,
    pub created_at: Millis,
    pub disabled_at: Option<Millis>,
}

/// Every principal, by name.
pub async fn list(pool: &AnyPool) -> StoreResult<Vec<PrincipalListing>> {
    let rows =
        sqlx::query("SELECT name, role, created_at, disabled_at FROM principals ORDER BY name")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            let role: String = row.try_get("role")?;
            Ok(PrincipalListing {
                name: row.try_get("name")?,
                role: Role::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt(format!("principal role {role:?}")))?,
                created_at: row.try_get("created_at")?,
                disabled_at: row.try_get("disabled_at")?,
            })
        })
        .collect()
}
