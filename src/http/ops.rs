//! Operations: liveness, readiness, Prometheus metrics, the OpenAPI document.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::problem_response;
use super::openapi::problem;
use crate::app::AppState;
use crate::service::health;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
}

/// Liveness
///
/// Answers as long as the process serves HTTP. Checks nothing else.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "The process is alive.", body = Health),
    )
)]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// A ready instance: what was checked, each fine.
#[derive(Serialize, ToSchema)]
struct Ready {
    status: &'static str,
    database: &'static str,
    migrations: &'static str,
    disk_free_percent: Option<f64>,
    /// `refused` when the log no longer extends the last signed checkpoint.
    audit_checkpoints: &'static str,
}

// Ready when the database answers, is fully migrated and its disk is not
// nearly full; otherwise 503 naming every reason.
/// Readiness
///
/// Answers 200 when the database answers, 503 (problem `urn:pingate:problem:not-ready`) when it does not. Use it as the load balancer's health check.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready to serve.", body = Ready),
        (status = 503, description = "The database is not reachable (`urn:pingate:problem:not-ready`).", content_type = "application/problem+json", body = problem::Problem),
    )
)]
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    // A log that no longer extends the last signed checkpoint is reported
    // (the instance still serves; reviewers and operators must look).
    let checkpoints = match state.anchor.refusal() {
        None => "ok",
        Some(_) => "refused",
    };
    let r = health::readiness(&state).await;
    if r.problems.is_empty() {
        return Json(Ready {
            status: "ready",
            database: "ok",
            migrations: "up to date",
            disk_free_percent: r.disk_free_percent,
            audit_checkpoints: checkpoints,
        })
        .into_response();
    }
    tracing::warn!(problems = ?r.problems, "not ready");
    problem_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "not-ready",
        "Not ready",
        &r.problems.join("; "),
    )
}

/// Prometheus metrics
///
/// Prometheus text exposition format (webhook rejections, challenges, grants, outbox depth and age, ...). Not authenticated: expose it only to the monitoring network.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Metrics in the Prometheus text format.", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
    )
)]
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    if let Ok(depth) =
        crate::store::messages::queue_depth(state.store.reader(), state.clock.now_ms()).await
    {
        metrics::gauge!("pingate_outbox_queued").set(depth.0 as f64);
        metrics::gauge!("pingate_outbox_oldest_age_seconds").set(depth.1 as f64 / 1000.0);
    }
    health::record_database_metrics(&state).await;
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// This document
///
/// The OpenAPI 3.1 document of this server, the reference for the public contract.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI document.", body = Object),
    )
)]
async fn openapi() -> Response {
    let mut resp = (StatusCode::OK, super::openapi::json()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
