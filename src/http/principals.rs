//! Admin API: principals (agents, reviewers, admins) listed, created,
//! disabled and rotated. New tokens are in the answer once and never again;
//! every change is audited by the service.

use super::openapi::{params as p, problem};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

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

#[derive(Serialize, ToSchema)]
#[schema(as = Principal)]
pub struct PrincipalView {
    #[schema(pattern = "^prn_[0-9a-f]{32}$")]
    principal_id: String,
    name: String,
    #[schema(value_type = Role)]
    role: &'static str,
    #[schema(value_type = PrincipalStatus)]
    status: &'static str,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    created_at: String,
    /// When the token stops working on its own; null: never.
    #[schema(format = DateTime, required = true)]
    expires_at: Option<String>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime, required = true)]
    rotated_at: Option<String>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime, required = true)]
    disabled_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PrincipalWithToken {
    #[serde(flatten)]
    principal: PrincipalView,
    #[serde(serialize_with = "expose")]
    /// The bearer token (`pga_…`), shown only in this answer.
    #[schema(value_type = String)]
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    #[param(minimum = 1, maximum = 500, default = 100)]
    limit: Option<i64>,
    /// `next` of the previous page.
    cursor: Option<String>,
}

/// Principals
///
/// Every agent, reviewer and administrator, by name, with role, status (`active`, `disabled`, `expired`) and expiry; never a token. Same as `pingate agent list`.
#[utoipa::path(
    get,
    path = "/v1/principals",
    operation_id = "listPrincipals",
    tag = "principals",
    params(ListQuery),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "A page of principals.", body = PrincipalList),
        (status = 400, response = problem::BadRequest),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreatePrincipalRequest)]
struct Create {
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    name: String,
    #[schema(value_type = Role)]
    role: String,
    /// When the token stops working; absent: never. Must be in the future.
    #[schema(nullable = false, format = DateTime)]
    expires_at: Option<String>,
}

/// Create a principal
///
/// Creates an agent, reviewer or administrator and answers its bearer token, once (it is stored only as a hash). Audited as `principal_created`. Same as `pingate agent add`.
#[utoipa::path(
    post,
    path = "/v1/principals",
    operation_id = "createPrincipal",
    tag = "principals",
    request_body(content = Create),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 201, description = "The principal, with its token (shown only here).", body = PrincipalWithToken),
        (status = 422, response = problem::Validation),
        problem::Guarded,
        problem::JsonBody,
    )
)]
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

/// Disable a principal
///
/// Its token stops working at once on every instance (tokens are looked up in the database on each request). Audited as `principal_disabled`. Same as `pingate agent disable`.
#[utoipa::path(
    post,
    path = "/v1/principals/{name}/disable",
    operation_id = "disablePrincipal",
    tag = "principals",
    params(p::PrincipalNamePath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "The principal, now disabled.", body = PrincipalView),
        (status = 400, response = problem::BadRequest),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        problem::Guarded,
    )
)]
async fn disable(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<PrincipalView>> {
    let row = principals::disable(&state, &admin.actor(), &name).await?;
    Ok(Json(view(&row, state.clock.now_ms())))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RotatePrincipalRequest)]
struct Rotate {
    /// When the new token stops working; absent: never. Must be in the future.
    #[schema(nullable = false, format = DateTime)]
    expires_at: Option<String>,
}

/// Rotate a principal's token
///
/// Answers a new token, once; the old one stops working at once on every instance. The optional body sets the new token's expiry (absent: never). A disabled principal cannot be rotated (409). Audited as `principal_rotated`. Same as `pingate agent rotate`.
#[utoipa::path(
    post,
    path = "/v1/principals/{name}/rotate",
    operation_id = "rotatePrincipal",
    tag = "principals",
    params(p::PrincipalNamePath),
    request_body(content = Option<Rotate>),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "The principal, with its new token (shown only here).", body = PrincipalWithToken),
        (status = 400, response = problem::BadRequest),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 413, response = problem::PayloadTooLarge),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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

/// A principal's status, as `view` derives it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum PrincipalStatus {
    Active,
    Disabled,
    Expired,
}

type PrincipalList = Page<PrincipalView>;
