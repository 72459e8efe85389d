//! Admin API: PIN lockouts, listed and reset (audited).

use std::sync::Arc;

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

/// A lockout: the caller by pseudonym only, never the number.
#[derive(Serialize)]
struct LockoutView {
    lockout_id: String,
    org_id: String,
    caller: String,
    locked_at: String,
    until: String,
    reset_at: Option<String>,
    reset_by: Option<String>,
}

#[derive(Serialize)]
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

async fn list(State(state): State<Arc<AppState>>) -> ApiResult<Json<Page<LockoutView>>> {
    let rows = quotas::active_lockouts(state.store.reader(), state.clock.now_ms())
        .await
        .map_err(ServiceError::from)?;
    Ok(Json(Page {
        items: rows.iter().map(|l| view(&state, l)).collect(),
        next: None,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reset {
    org_id: String,
    /// The caller's E.164 number; absent resets every lockout of the org.
    caller: Option<String>,
}

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
