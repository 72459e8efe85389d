//! Admin API: principals (agents, reviewers, admins) listed, created,
//! disabled and rotated. New tokens are in the answer once and never again;
//! every change is audited by the service.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use crate::clock::{Millis, parse_rfc3339, rfc3339};
use crate::service::views::Page;
use crate::service::{ServiceError, principals};
use crate::store::principals::{Principal, PrincipalRow, Role};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/principals", get(list).post(create))
        .route("/v1/principals/{name}/disable", post(disable))
        .route("/v1/principals/{name}/rotate", post(rotate))
}

/// What an administrator sees of a principal: never a token or its hash.
#[derive(Serialize)]
pub struct PrincipalView {
    principal_id: String,
    name: String,
    role: &'static str,
    status: &'static str,
    created_at: String,
    expires_at: Option<String>,
    rotated_at: Option<String>,
    disabled_at: Option<String>,
}

/// A principal just created or rotated, with its new token (shown once).
#[derive(Serialize)]
pub struct PrincipalWithToken {
    #[serde(flatten)]
    principal: PrincipalView,
    #[serde(serialize_with = "expose")]
    token: SecretString,
}

fn expose<S: Serializer>(token: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(token.expose_secret())
}

pub fn view(p: &PrincipalRow, now: Millis) -> PrincipalView {
    let status = if p.disabled_at.is_some() {
        "disabled"
    } else if p.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    };
    PrincipalView {
        principal_id: p.id.clone(),
        name: p.name.clone(),
        role: p.role.as_str(),
        status,
        created_at: rfc3339(p.created_at),
        expires_at: p.expires_at.map(rfc3339),
        rotated_at: p.rotated_at.map(rfc3339),
        disabled_at: p.disabled_at.map(rfc3339),
    }
}

fn with_token(principal: PrincipalView, token: SecretString) -> PrincipalWithToken {
    PrincipalWithToken { principal, token }
}

fn expiry(field: Option<&str>) -> Result<Option<Millis>, ServiceError> {
    field
        .map(|s| {
            parse_rfc3339(s).ok_or_else(|| {
                ServiceError::invalid("expires_at", "an RFC 3339 time, e.g. 2027-01-31T00:00:00Z")
            })
        })
        .transpose()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<PrincipalView>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ServiceError::invalid("limit", "between 1 and 500").into());
    }
    let rows = principals::list(&state, q.cursor.as_deref(), limit + 1).await?;
    let (rows, next) = super::page::split(rows, limit, |p| p.name.clone());
    let now = state.clock.now_ms();
    Ok(Json(Page {
        items: rows.iter().map(|p| view(p, now)).collect(),
        next,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
    role: String,
    expires_at: Option<String>,
}

async fn create(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiJson(body): ApiJson<Create>,
) -> ApiResult<(StatusCode, Json<PrincipalWithToken>)> {
    let role = Role::parse(&body.role)
        .ok_or_else(|| ServiceError::invalid("role", "use agent, reviewer or admin"))?;
    let expires_at = expiry(body.expires_at.as_deref())?;
    let token =
        principals::add_expiring(&state, &admin.actor(), &body.name, role, expires_at).await?;
    let row = principals::list(&state, None, 500)
        .await?
        .into_iter()
        .find(|p| p.name == body.name.trim())
        .ok_or(ServiceError::NotFound("principal"))?;
    let v = view(&row, state.clock.now_ms());
    Ok((StatusCode::CREATED, Json(with_token(v, token))))
}

async fn disable(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<PrincipalView>> {
    let row = principals::disable(&state, &admin.actor(), &name).await?;
    Ok(Json(view(&row, state.clock.now_ms())))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotate {
    expires_at: Option<String>,
}

async fn rotate(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath(name): ApiPath<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<PrincipalWithToken>> {
    // The body is optional: none rotates to a token that never expires.
    let body: Rotate = if body.iter().all(u8::is_ascii_whitespace) {
        Rotate::default()
    } else {
        super::extract::json_body(&body)?
    };
    let expires_at = expiry(body.expires_at.as_deref())?;
    let (row, token) = principals::rotate(&state, &admin.actor(), &name, expires_at).await?;
    let v = view(&row, state.clock.now_ms());
    Ok(Json(with_token(v, token)))
}
