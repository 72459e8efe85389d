//! Grants: read, revoke, and introspection for support tooling.

use super::openapi::{params as p, problem};
use std::sync::Arc;
use utoipa::ToSchema;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::clock::rfc3339;
use crate::domain::verification::GrantBasis;
use crate::service::views::GrantView;
use crate::service::{grants, views};
use crate::store::principals::Principal;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/grants/{grant_id}", get(get_grant))
        .route("/v1/grants/{grant_id}/revoke", post(revoke))
        .route("/v1/grants/introspect", post(introspect))
}

// An agent sees only their own grants (another's is not found); an
// admin sees any.
/// Get a grant
///
/// The grant without its token (the token is shown once, when the grant is issued). An agent sees only the grants issued to them (another agent's grant answers 404); an admin sees every grant. The same holds for the `grants` (and their `notices`) of `GET /v1/calls/{call_id}`.
#[utoipa::path(
    get,
    path = "/v1/grants/{grant_id}",
    operation_id = "getGrant",
    tag = "grants",
    params(p::GrantIdPath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent", "admin"]))),
    responses(
        (status = 200, description = "The grant.", body = GrantView),
        (status = 404, response = problem::NotFound),
        problem::Guarded,
    )
)]
async fn get_grant(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<GrantView>> {
    let g = grants::get_visible(&state, &viewer, &id).await?;
    Ok(Json(views::grant(&g, state.clock.now_ms())))
}

/// Revoke a grant
///
/// Ends the grant now; idempotent. Agents revoke only their own grants: another agent's grant answers 404, as its `GET` does, and the attempt is audited as `authz_fail`. Admins revoke any.
#[utoipa::path(
    post,
    path = "/v1/grants/{grant_id}/revoke",
    operation_id = "revokeGrant",
    tag = "grants",
    params(p::GrantIdPath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent", "admin"]))),
    responses(
        (status = 200, description = "The grant, revoked.", body = GrantView),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        problem::Guarded,
    )
)]
async fn revoke(
    State(state): State<Arc<AppState>>,
    Extension(by): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<GrantView>> {
    let g = grants::revoke(&state, &by, &id).await?;
    Ok(Json(views::grant(&g, state.clock.now_ms())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IntrospectRequest)]
struct Introspect {
    #[schema(value_type = String)]
    #[schema(write_only)]
    token: secrecy::SecretString,
}

/// What support tooling learns of a grant token: whether it is active
/// and, only then, whose grant it is. When `active` is false, no other
/// field is present.
#[derive(Serialize, Default, ToSchema)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    grant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    basis: Option<GrantBasis>,
    /// RFC 3339, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    expires_at: Option<String>,
}

/// May this agent act on this org now?
///
/// For support tooling: given a grant token, answers whether it is active and, if so, for which agent and org until when. Unknown, expired and revoked tokens all answer `{"active": false}` and nothing else. A grant whose agent has since been disabled, has expired or was rotated (for grants issued before the rotation) answers inactive at once, on every instance.
#[utoipa::path(
    post,
    path = "/v1/grants/introspect",
    operation_id = "introspectGrant",
    tag = "grants",
    request_body(content = Introspect),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent", "admin"]))),
    responses(
        (status = 200, description = "The token's state.", body = Introspection),
        problem::Guarded,
        problem::JsonBody,
    )
)]
async fn introspect(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<Introspect>,
) -> ApiResult<Json<Introspection>> {
    let r = grants::introspect(&state, &body.token).await?;
    Ok(Json(match r.grant {
        Some(g) if r.active => Introspection {
            active: true,
            grant_id: Some(g.id),
            org_id: Some(g.org_id),
            agent: Some(g.agent),
            call_id: Some(g.call_id),
            basis: Some(g.basis),
            expires_at: Some(rfc3339(g.expires_at)),
        },
        _ => Introspection::default(),
    }))
}
