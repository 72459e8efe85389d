//! Grants: read, revoke, and introspection for support tooling.

use std::sync::Arc;

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

/// An agent sees only their own grants (another's is not found); an
/// admin sees any.
async fn get_grant(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<GrantView>> {
    let g = grants::get_visible(&state, &viewer, &id).await?;
    Ok(Json(views::grant(&g, state.clock.now_ms())))
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    Extension(by): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<GrantView>> {
    let g = grants::revoke(&state, &by, &id).await?;
    Ok(Json(views::grant(&g, state.clock.now_ms())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Introspect {
    token: secrecy::SecretString,
}

/// What support tooling learns of a grant token: whether it is active
/// and, only then, whose grant it is. An inactive token says nothing else.
#[derive(Serialize)]
#[serde(untagged)]
enum Introspection {
    Active {
        active: bool,
        grant_id: String,
        org_id: String,
        agent: String,
        call_id: String,
        basis: GrantBasis,
        expires_at: String,
    },
    Inactive {
        active: bool,
    },
}

async fn introspect(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<Introspect>,
) -> ApiResult<Json<Introspection>> {
    let r = grants::introspect(&state, &body.token).await?;
    Ok(Json(match r.grant {
        Some(g) if r.active => Introspection::Active {
            active: true,
            grant_id: g.id,
            org_id: g.org_id,
            agent: g.agent,
            call_id: g.call_id,
            basis: g.basis,
            expires_at: rfc3339(g.expires_at),
        },
        _ => Introspection::Inactive { active: false },
    }))
}
