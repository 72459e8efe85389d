//! Admin API: overriding an org's spent PIN budgets for a short while
//! (audited).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::clock::rfc3339;
use crate::service::overrides::{self, Request};
use crate::store::principals::Principal;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/orgs/{org_id}/override", post(grant))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Override {
    reason: String,
    /// How long it lasts, at most `limits.override_max`.
    minutes: u64,
}

async fn grant(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath(org_id): ApiPath<String>,
    ApiJson(body): ApiJson<Override>,
) -> ApiResult<(StatusCode, Json<Value>)> {
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
        Json(json!({
            "override_id": o.id,
            "org_id": o.org_id,
            "reason": o.reason,
            "created_by": o.created_by,
            "created_at": rfc3339(o.created_at),
            "expires_at": rfc3339(o.expires_at),
        })),
    ))
}
