//! Principals (agents, reviewers, admins) and their bearer-token hashes:
//! created, listed, disabled and rotated. Every lookup goes to the
//! database, so a disabled, rotated or expired token fails on every
//! instance at once (no per-instance cache can outlive it).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use super::{StoreError, StoreResult, conflict_or};
use crate::clock::Millis;
use crate::domain::handling::Issuer;
use crate::domain::string_enum::string_enum;

string_enum! {
    /// What a bearer token may do; each route names the one role it accepts.
    pub Role {
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

/// A principal as an administrator sees it (never its token hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: Millis,
    pub disabled_at: Option<Millis>,
    pub expires_at: Option<Millis>,
    pub rotated_at: Option<Millis>,
}

impl PrincipalRow {
    pub fn principal(&self) -> Principal {
        Principal {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
        }
    }
}

const COLUMNS: &str = "id, name, role, created_at, disabled_at, expires_at, rotated_at";

fn role_of(row: &AnyRow) -> StoreResult<Role> {
    let role: String = row.try_get("role")?;
    Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("principal role {role:?}")))
}

fn from_row(row: &AnyRow) -> StoreResult<PrincipalRow> {
    Ok(PrincipalRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: role_of(row)?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
        expires_at: row.try_get("expires_at")?,
        rotated_at: row.try_get("rotated_at")?,
    })
}

pub async fn create(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    role: Role,
    token_hash: &[u8; 32],
    now: Millis,
    expires_at: Option<Millis>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO principals (id, name, role, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(name)
    .bind(role.as_str())
    .bind(token_hash.to_vec())
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await
    .map_err(|e| conflict_or(e, "principal", "name"))?;
    Ok(())
}

/// The principal a token belongs to, if it is enabled and not expired.
pub async fn by_token_hash(
    pool: &AnyPool,
    hash: &[u8; 32],
    now: Millis,
) -> StoreResult<Option<Principal>> {
    let row = sqlx::query(
        "SELECT id, name, role FROM principals WHERE token_hash = $1 \
         AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(hash.to_vec())
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Principal {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: role_of(&row)?,
    }))
}

/// Every principal, by name, after `after` (a name), at most `limit`.
pub async fn list(
    pool: &AnyPool,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<PrincipalRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM principals WHERE name > $1 ORDER BY name LIMIT $2"
    )))
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// What a grant's issuer is now (disabled, expired, rotated), by name.
pub async fn issuer(pool: &AnyPool, name: &str) -> StoreResult<Option<Issuer>> {
    let row =
        sqlx::query("SELECT disabled_at, expires_at, rotated_at FROM principals WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?;
    row.map(|r| {
        Ok(Issuer {
            disabled_at: r.try_get("disabled_at")?,
            expires_at: r.try_get("expires_at")?,
            rotated_at: r.try_get("rotated_at")?,
        })
    })
    .transpose()
}

pub async fn by_name(conn: &mut AnyConnection, name: &str) -> StoreResult<Option<PrincipalRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM principals WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Disables an enabled principal; None when it is unknown or already disabled.
pub async fn disable(
    conn: &mut AnyConnection,
    name: &str,
    now: Millis,
) -> StoreResult<Option<PrincipalRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE principals SET disabled_at = $2 WHERE name = $1 AND disabled_at IS NULL \
         RETURNING {COLUMNS}"
    )))
    .bind(name)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Replaces an enabled principal's token hash (the old token dies with
/// it) and sets its expiry; None when it is unknown or disabled.
pub async fn rotate(
    conn: &mut AnyConnection,
    name: &str,
    token_hash: &[u8; 32],
    now: Millis,
    expires_at: Option<Millis>,
) -> StoreResult<Option<PrincipalRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE principals SET token_hash = $2, rotated_at = $3, expires_at = $4 \
         WHERE name = $1 AND disabled_at IS NULL RETURNING {COLUMNS}"
    )))
    .bind(name)
    .bind(token_hash.to_vec())
    .bind(now)
    .bind(expires_at)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}
