//! Organisation profiles and their registered numbers.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use super::{StoreError, StoreResult, conflict_or};
use crate::clock::Millis;
use crate::domain::email::EmailAddress;
use crate::domain::org::{Channel, Contacts, OrgId, OrgProfile};
use crate::domain::phone::E164;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

const COLUMNS: &str =
    "id, name, account_number, channels, contact_email, contact_sms, language, severity_a";

/// Writes a profile: updates it, or creates it when it does not exist. With
/// `create_only` an existing id is refused as a conflict on `id`, decided
/// by the insert itself so two concurrent creates cannot both succeed.
pub async fn upsert(
    conn: &mut AnyConnection,
    org: &OrgProfile,
    now: Millis,
    create_only: bool,
) -> StoreResult<Upserted> {
    let channels = org
        .channels
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let email = org.contacts.email.as_ref().map(|e| e.as_str().to_string());
    let sms = org.contacts.sms.as_ref().map(|n| n.as_str().to_string());
    // $1 id, $2 name, $3 account_number, $4 channels, $5 email, $6 sms,
    // $7 language, $8 now, $9 severity_a: the same for the update and the insert.
    let write = |sql: &'static str| {
        sqlx::query(sql)
            .bind(org.id.as_str())
            .bind(&org.name)
            .bind(&org.account_number)
            .bind(&channels)
            .bind(&email)
            .bind(&sms)
            .bind(&org.language)
            .bind(now)
            .bind(i64::from(org.severity_a))
    };
    let mut outcome = None;
    // Twice at most: an insert that loses to a concurrent create of the
    // same id updates that org instead (unless only a create was asked).
    for _ in 0..2 {
        if !create_only {
            let updated = write(
                "UPDATE orgs SET name = $2, account_number = $3, channels = $4, contact_email = $5, \
                 contact_sms = $6, language = $7, updated_at = $8, severity_a = $9 WHERE id = $1",
            )
            .execute(&mut *conn)
            .await
            .map_err(|e| conflict_or(e, "org", "account_number"))?;
            if updated.rows_affected() == 1 {
                outcome = Some(Upserted::Updated);
                break;
            }
        }
        let inserted = write(
            "INSERT INTO orgs (id, name, account_number, channels, contact_email, contact_sms, language, created_at, updated_at, severity_a) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) ON CONFLICT DO NOTHING",
        )
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 1 {
            outcome = Some(Upserted::Created);
            break;
        }
        // Nothing inserted: the id exists now, or the account number is
        // another org's.
        let id_taken = sqlx::query("SELECT 1 FROM orgs WHERE id = $1")
            .bind(org.id.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
        if !id_taken {
            return Err(StoreError::Conflict {
                entity: "org",
                field: "account_number",
            });
        }
        if create_only {
            break;
        }
    }
    let Some(outcome) = outcome else {
        return Err(StoreError::Conflict {
            entity: "org",
            field: "id",
        });
    };
    sqlx::query("DELETE FROM org_numbers WHERE org_id = $1")
        .bind(org.id.as_str())
        .execute(&mut *conn)
        .await?;
    for n in &org.registered_numbers {
        sqlx::query("INSERT INTO org_numbers (number, org_id) VALUES ($1, $2)")
            .bind(n.as_str())
            .bind(org.id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(|e| conflict_or(e, "registered number", "registered_numbers"))?;
    }
    Ok(outcome)
}

pub async fn clear_numbers(conn: &mut AnyConnection, org_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM org_numbers WHERE org_id = $1")
        .bind(org_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: &OrgId) -> StoreResult<bool> {
    sqlx::query("DELETE FROM org_numbers WHERE org_id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    let r = sqlx::query("DELETE FROM orgs WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// One org with its numbers, read from a pool.
pub async fn get(pool: &AnyPool, id: &str) -> StoreResult<Option<OrgProfile>> {
    get_on(&mut *pool.acquire().await?, id).await
}

/// One org with its numbers, read on this connection: inside a write, the
/// transaction's own (see `service::notices`).
pub async fn get_on(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<OrgProfile>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM orgs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => {
            let numbers = numbers_of(conn, id).await?;
            Ok(Some(from_row(&row, numbers)?))
        }
        None => Ok(None),
    }
}

/// What the support menus read of an org: whether it has the advanced
/// contract, and its language. One statement whether or not the org
/// exists, so a caller's menus cost the same for a known and an unknown
/// account number.
pub async fn menu_terms(pool: &AnyPool, id: &str) -> StoreResult<Option<(bool, Option<String>)>> {
    let row = sqlx::query("SELECT severity_a, language FROM orgs WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| {
        let severity_a = r.try_get::<i64, _>("severity_a")? == 1;
        let language = r.try_get::<Option<String>, _>("language")?;
        Ok((severity_a, language))
    })
    .transpose()
}

/// Orgs ordered by id, after `after` (cursor), at most `limit`.
pub async fn list(pool: &AnyPool, after: Option<&str>, limit: i64) -> StoreResult<Vec<OrgProfile>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM orgs WHERE id > $1 ORDER BY id LIMIT $2"
    )))
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("id")?;
        let numbers = numbers_of(&mut conn, &id).await?;
        out.push(from_row(&row, numbers)?);
    }
    Ok(out)
}

async fn numbers_of(conn: &mut AnyConnection, id: &str) -> StoreResult<Vec<String>> {
    let rows = sqlx::query("SELECT number FROM org_numbers WHERE org_id = $1 ORDER BY number")
        .bind(id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
        .collect()
}

pub async fn org_for_account_number(pool: &AnyPool, digits: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT id FROM orgs WHERE account_number = $1")
        .bind(digits)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Orgs whose name is `name`, ignoring case (names need not be unique).
pub async fn ids_for_name(pool: &AnyPool, name: &str) -> StoreResult<Vec<String>> {
    let rows = sqlx::query("SELECT id FROM orgs WHERE lower(name) = lower($1) ORDER BY id LIMIT 2")
        .bind(name)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
        .collect()
}

/// Registered numbers in `numbers` that belong to an org other than `org`.
pub async fn numbers_taken_elsewhere(
    conn: &mut AnyConnection,
    org: &str,
    numbers: &[E164],
) -> StoreResult<Vec<(String, String)>> {
    let mut taken = Vec::new();
    for n in numbers {
        let row = sqlx::query("SELECT org_id FROM org_numbers WHERE number = $1 AND org_id <> $2")
            .bind(n.as_str())
            .bind(org)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = row {
            taken.push((n.as_str().to_string(), row.try_get(0)?));
        }
    }
    Ok(taken)
}

/// The org other than `org` that has `account_number`, if any.
pub async fn account_number_owner(
    conn: &mut AnyConnection,
    org: &str,
    account_number: &str,
) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT id FROM orgs WHERE account_number = $1 AND id <> $2")
        .bind(account_number)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

fn corrupt(what: &str, id: &str) -> StoreError {
    StoreError::Corrupt(format!("org {id}: stored {what} does not parse"))
}

fn from_row(row: &AnyRow, numbers: Vec<String>) -> StoreResult<OrgProfile> {
    let id: String = row.try_get("id")?;
    let channels: String = row.try_get("channels")?;
    let email: Option<String> = row.try_get("contact_email")?;
    let sms: Option<String> = row.try_get("contact_sms")?;
    Ok(OrgProfile {
        id: OrgId::parse(&id).map_err(|_| corrupt("id", &id))?,
        name: row.try_get("name")?,
        account_number: row.try_get("account_number")?,
        registered_numbers: numbers
            .iter()
            .map(|n| E164::parse(n).map_err(|_| corrupt("number", &id)))
            .collect::<Result<_, _>>()?,
        channels: channels
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|c| c.parse::<Channel>().map_err(|_| corrupt("channel", &id)))
            .collect::<Result<_, _>>()?,
        contacts: Contacts {
            email: email
                .map(|e| EmailAddress::parse(&e).map_err(|_| corrupt("email", &id)))
                .transpose()?,
            sms: sms
                .map(|n| E164::parse(&n).map_err(|_| corrupt("sms contact", &id)))
                .transpose()?,
        },
        language: row.try_get("language")?,
        severity_a: row.try_get::<i64, _>("severity_a")? == 1,
    })
}
