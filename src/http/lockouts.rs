//! Admin API: PIN lockouts, listed and reset (audited).

use super::openapi::problem;
use std::sync::Arc;
use utoipa::ToSchema;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::ApiJson;
use crate::app::AppState;
use crate::clock::rfc3339;
use crate::service::views::Page;
use crate::service::{ServiceError, limits};
use crate::store::principals::Principal;
use crate::store::quotas::{self, LockoutRow};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/lockouts", get(list))
        .route("/v1/lockouts/reset", post(reset))
}

#[derive(Serialize, ToSchema)]
#[schema(as = Lockout)]
struct LockoutView {
    lockout_id: String,
    org_id: String,
    /// The caller, pseudonymised (keyed hash and last digits); `withheld` for the budget every caller without a number shares in the org; `*` for the org's failure ceiling.
    caller: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    locked_at: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    until: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime, required = true)]
    reset_at: Option<String>,
    #[schema(required = true)]
    reset_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = LockoutReset)]
struct ResetAnswer {
    reset: Vec<LockoutView>,
}

fn view(state: &AppState, l: &LockoutRow) -> LockoutView {
    LockoutView {
        lockout_id: l.id.clone(),
        org_id: l.org_id.clone(),
        caller: limits::pseudonymous_key(state, &l.caller_key),
        locked_at: rfc3339(l.locked_at),
        until: rfc3339(l.until),
        reset_at: l.reset_at.map(rfc3339),
        reset_by: l.reset_by.clone(),
    }
}

/// Active PIN lockouts
///
/// Callers currently locked out of PIN verification for an org after too many wrong PINs. All of them in one page (`next` is always null).
#[utoipa::path(
    get,
    path = "/v1/lockouts",
    operation_id = "listLockouts",
    tag = "lockouts",
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "The lockouts in force.", body = LockoutList),
        problem::Guarded,
    )
)]
async fn list(State(state): State<Arc<AppState>>) -> ApiResult<Json<Page<LockoutView>>> {
    let rows = quotas::active_lockouts(state.store.reader(), state.clock.now_ms())
        .await
        .map_err(ServiceError::from)?;
    Ok(Json(Page {
        items: rows.iter().map(|l| view(&state, l)).collect(),
        next: None,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LockoutResetRequest)]
struct Reset {
    #[schema(value_type = crate::domain::org::OrgId)]
    org_id: String,
    /// The caller's E.164 number, `withheld`, or `*` (the org's failure ceiling); absent: every lockout of the org.
    #[schema(nullable = false)]
    caller: Option<String>,
}

/// End lockouts
///
/// Ends the org's lockouts (of one caller when `caller` is given, of all its callers otherwise) and forgets the failures behind them; each is audited as `authn_pin_lockout_reset`. Same as `pingate lockout reset`. An org id that does not exist is a 404.
#[utoipa::path(
    post,
    path = "/v1/lockouts/reset",
    operation_id = "resetLockouts",
    tag = "lockouts",
    request_body(content = Reset),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "The lockouts ended (possibly none).", body = ResetAnswer),
        (status = 404, response = problem::NotFound),
        (status = 422, response = problem::Validation),
        problem::Guarded,
        problem::JsonBody,
    )
)]
async fn reset(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiJson(body): ApiJson<Reset>,
) -> ApiResult<Json<ResetAnswer>> {
    let ended = limits::reset(&state, &admin.actor(), &body.org_id, body.caller.as_deref()).await?;
    Ok(Json(ResetAnswer {
        reset: ended.iter().map(|l| view(&state, l)).collect(),
    }))
}

type LockoutList = Page<LockoutView>;
