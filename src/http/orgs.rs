//! Admin API: organisation profiles (same shape and validation as import).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use crate::domain::org::{OrgProfile, parse_org_json};
use crate::domain::phone::E164;
use crate::service::views::Page;
use crate::service::{ServiceError, orgs};
use crate::store;
use crate::store::principals::Principal;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/orgs", get(list).post(create))
        .route("/v1/orgs/{org_id}", get(read).put(replace).delete(remove))
        .route("/v1/orgs/{org_id}/numbers", post(add_number))
        .route("/v1/orgs/{org_id}/numbers/{number}", delete(remove_number))
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
) -> ApiResult<Json<Page<OrgProfile>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ServiceError::invalid("limit", "between 1 and 500").into());
    }
    let rows = store::orgs::list(state.store.reader(), q.cursor.as_deref(), limit + 1)
        .await
        .map_err(ServiceError::from)?;
    let (rows, next) = super::page::split(rows, limit, |o| o.id.as_str().to_string());
    Ok(Json(Page { items: rows, next }))
}

fn parse(body: &Value) -> Result<OrgProfile, ServiceError> {
    if !body.is_object() {
        return Err(ServiceError::invalid(
            "body",
            "must be a JSON object: one org profile",
        ));
    }
    parse_org_json(body).map_err(|e| ServiceError::InvalidMany(e.errors))
}

async fn create(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<OrgProfile>)> {
    let profile = parse(&body)?;
    orgs::create(&state, &admin.actor(), &profile).await?;
    Ok((
        StatusCode::CREATED,
        Json(orgs::get(&state, profile.id.as_str()).await?),
    ))
}

async fn read(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<OrgProfile>> {
    Ok(Json(orgs::get(&state, &id).await?))
}

async fn replace(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
    ApiJson(mut body): ApiJson<Value>,
) -> ApiResult<Json<OrgProfile>> {
    if let Value::Object(m) = &mut body {
        match m.get("id") {
            None => {
                m.insert("id".into(), Value::String(id.clone()));
            }
            Some(Value::String(s)) if *s == id => {}
            Some(_) => {
                return Err(ServiceError::invalid("id", "must match the id in the path").into());
            }
        }
    }
    let profile = parse(&body)?;
    orgs::save_all(&state, &admin.actor(), std::slice::from_ref(&profile)).await?;
    Ok(Json(orgs::get(&state, &id).await?))
}

async fn remove(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    orgs::delete(&state, &admin.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddNumber {
    number: String,
}

async fn add_number(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddNumber>,
) -> ApiResult<Json<OrgProfile>> {
    let number =
        E164::parse(&body.number).map_err(|e| ServiceError::invalid("number", e.to_string()))?;
    let mut profile = orgs::get(&state, &id).await?;
    if !profile.registered_numbers.contains(&number) {
        profile.registered_numbers.push(number);
        orgs::save_all(&state, &admin.actor(), std::slice::from_ref(&profile)).await?;
    }
    Ok(Json(orgs::get(&state, &id).await?))
}

async fn remove_number(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath((id, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<OrgProfile>> {
    let mut profile = orgs::get(&state, &id).await?;
    let before = profile.registered_numbers.len();
    profile.registered_numbers.retain(|n| n.as_str() != number);
    if profile.registered_numbers.len() == before {
        return Err(ServiceError::NotFound("registered number").into());
    }
    orgs::save_all(&state, &admin.actor(), std::slice::from_ref(&profile)).await?;
    Ok(Json(orgs::get(&state, &id).await?))
}
