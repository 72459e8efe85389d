//! Grants: read, revoke, and introspection for support tooling.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::clock::rfc3339;
use crate::service::{grants, views};
use crate::store::principals::Principal;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/grants/{grant_id}", get(get_grant))
        .route("/v1/grants/{grant_id}/revoke", post(revoke))
        .route("/v1/grants/introspect", post(introspect))
}

/// An agent sees only their own grants (another's is not found); an
/// admin sees any.
async fn get_grant(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let g = grants::get_visible(&state, &viewer, &id).await?;
    Ok(Json(views::grant(&g, state.clock.now_ms())))
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    Extension(by): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let g = grants::revoke(&state, &by, &id).await?;
    Ok(Json(views::grant(&g, state.clock.now_ms())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Introspect {
    token: secrecy::SecretString,
}

async fn introspect(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<Introspect>,
) -> ApiResult<Json<Value>> {
    let r = grants::introspect(&state, &body.token).await?;
    Ok(Json(match r.grant {
        Some(g) if r.active => json!({
            "active": true,
            "grant_id": g.id,
            "org_id": g.org_id,
            "agent": g.agent,
            "call_id": g.call_id,
            "basis": g.basis,
            "expires_at": rfc3339(g.expires_at),
        }),
        _ => json!({ "active": false }),
    }))
}
