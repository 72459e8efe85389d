//! Admin API: overriding an org's spent PIN budgets for a short while
//! (audited).

use super::openapi::{params as p, problem};
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::clock::rfc3339;
use crate::service::overrides::{self, Request};
use crate::store::principals::Principal;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/orgs/{org_id}/override", post(grant))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OrgOverrideRequest)]
struct Override {
    /// Why the org is served past its budgets; kept in the audit event.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    /// How long the override lasts, at most `limits.override_max`.
    #[schema(minimum = 1)]
    minutes: u64,
}

/// Serve an org past its spent PIN budgets
///
/// For a short while (`minutes`, at most `limits.override_max`), lifts the org's failure ceiling and its org-wide challenge and check quotas, so agents can send it PINs again; per-caller lockouts still hold (`POST /v1/lockouts/reset` ends those). Audited as `org_override_granted` with the reason; each challenge created meanwhile names the override in its `challenge_created` event. Same as `pingate org override`. 404: no such org; 422: no reason, or too long.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org_id}/override",
    operation_id = "overrideOrgBudgets",
    tag = "orgs",
    params(p::OrgIdPath),
    request_body(content = Override),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 201, description = "The override, in force until `expires_at`.", body = OrgOverrideView),
        (status = 404, response = problem::NotFound),
        (status = 422, response = problem::Validation),
        problem::Guarded,
        problem::JsonBody,
    )
)]
async fn grant(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath(org_id): ApiPath<String>,
    ApiJson(body): ApiJson<Override>,
) -> ApiResult<(StatusCode, Json<OrgOverrideView>)> {
    let actor = admin.actor();
    let req = Request {
        actor: &actor,
        org_id: &org_id,
        reason: &body.reason,
        lasts: Duration::from_secs(body.minutes.saturating_mul(60)),
    };
    let o = overrides::grant(&state, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrgOverrideView {
            override_id: o.id,
            org_id: o.org_id,
            reason: o.reason,
            created_by: o.created_by,
            created_at: rfc3339(o.created_at),
            expires_at: rfc3339(o.expires_at),
        }),
    ))
}

/// An override in force.
#[derive(Serialize, ToSchema)]
#[schema(as = OrgOverride)]
struct OrgOverrideView {
    override_id: String,
    org_id: String,
    reason: String,
    /// The administrator, as the audit trail names them.
    created_by: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    created_at: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    expires_at: String,
}
