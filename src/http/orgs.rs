//! Admin API: organisation profiles (same shape and validation as import).

use super::openapi::{params as p, problem};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    #[param(minimum = 1, maximum = 500, default = 100)]
    limit: Option<i64>,
    /// The `next` value of the previous page (the last id seen).
    cursor: Option<String>,
}

/// List organisation profiles
///
/// Ordered by id.
#[utoipa::path(
    get,
    path = "/v1/orgs",
    operation_id = "listOrgs",
    tag = "orgs",
    params(ListQuery),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "A page of profiles.", body = OrgList),
        (status = 400, response = problem::BadRequest),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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

/// Create an organisation profile
///
/// Same shape and validation as one `[[org]]` entry of `pingate org import`; every mistake is reported at once in `errors`. 409 (`org-exists`) when the id is taken: use PUT to update.
#[utoipa::path(
    post,
    path = "/v1/orgs",
    operation_id = "createOrg",
    tag = "orgs",
    request_body(content = OrgProfile),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 201, description = "The profile as stored.", body = OrgProfile),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::OrgValidation),
        problem::Guarded,
        problem::JsonBody,
    )
)]
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

/// Get an organisation profile
///
/// The profile, in the import shape.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org_id}",
    operation_id = "getOrg",
    tag = "orgs",
    params(p::OrgIdPath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "The profile.", body = OrgProfile),
        (status = 404, response = problem::NotFound),
        problem::Guarded,
    )
)]
async fn read(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<OrgProfile>> {
    Ok(Json(orgs::get(&state, &id).await?))
}

/// Create or replace an organisation profile
///
/// Replaces the whole profile (or creates it). `id` may be omitted; when present it must equal the path's.
#[utoipa::path(
    put,
    path = "/v1/orgs/{org_id}",
    operation_id = "replaceOrg",
    tag = "orgs",
    params(p::OrgIdPath),
    request_body(content = OrgProfile, description = "An `OrgProfile` whose `id` may be omitted (it is taken from the path)."),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "The profile as stored.", body = OrgProfile),
        (status = 422, response = problem::OrgValidation),
        problem::Guarded,
        problem::JsonBody,
    )
)]
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

/// Delete an organisation profile
///
/// Removes the profile; calls and the audit trail keep its id.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org_id}",
    operation_id = "deleteOrg",
    tag = "orgs",
    params(p::OrgIdPath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, response = problem::NotFound),
        problem::Guarded,
    )
)]
async fn remove(
    State(state): State<Arc<AppState>>,
    Extension(admin): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    orgs::delete(&state, &admin.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AddNumberRequest)]
struct AddNumber {
    #[schema(value_type = E164)]
    number: String,
}

/// Register a phone number
///
/// Adds an E.164 number to the org's registered numbers (idempotent). A number registered to another org answers 422.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org_id}/numbers",
    operation_id = "addOrgNumber",
    tag = "orgs",
    params(p::OrgIdPath),
    request_body(content = AddNumber),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "The profile, updated.", body = OrgProfile),
        (status = 404, response = problem::NotFound),
        (status = 422, response = problem::OrgValidation),
        problem::Guarded,
        problem::JsonBody,
    )
)]
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

/// Unregister a phone number
///
/// Removes the number (E.164, `+` percent-encoded as `%2B`) from the registered numbers. 404 when it is not registered to this org.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org_id}/numbers/{number}",
    operation_id = "removeOrgNumber",
    tag = "orgs",
    params(p::OrgNumberPath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["admin"]))),
    responses(
        (status = 200, description = "The profile, updated.", body = OrgProfile),
        (status = 404, response = problem::NotFound),
        (status = 422, response = problem::OrgValidation),
        problem::Guarded,
    )
)]
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

type OrgList = Page<OrgProfile>;
