//! One log line per request at `info`: method, route template, status,
//! latency and request id (never the raw path or query, which can carry a
//! phone number or a token). A request still running when the shutdown
//! grace period ends is answered 503 and logged as cut short.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::watch;

use super::error::problem_response;

/// The route template a request matched, carried out on the response
/// (shared, not copied: `MatchedPath` holds it behind an `Arc`).
#[derive(Clone)]
struct RouteTemplate(MatchedPath);

/// `route_layer`: records the matched template on the request's span and
/// on the response for [`log`].
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    if let Some(r) = &route {
        tracing::Span::current().record("route", r.as_str());
    }
    let mut resp = next.run(req).await;
    if let Some(r) = route {
        resp.extensions_mut().insert(RouteTemplate(r));
    }
    resp
}

/// Completes when the hard stop is sent (never if its sender is gone).
async fn hard_stop(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Outer middleware (inside the request span): times the request, logs
/// its outcome, and cuts it short on a hard stop.
pub async fn log(State(stop): State<watch::Receiver<bool>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // A clone of the header's shared bytes, not a copy of the text.
    let id_header = req.headers().get("x-request-id").cloned();
    let request_id = || {
        id_header
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let resp = tokio::select! {
        resp = next.run(req) => resp,
        () = hard_stop(stop) => {
            tracing::warn!(
                %method,
                request_id = request_id(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "request cut short: the server shut down before it was answered"
            );
            return problem_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting-down",
                "Shutting down",
                "the server stopped before this request was answered; retry it",
            );
        }
    };
    let route = resp
        .extensions()
        .get::<RouteTemplate>()
        .map_or("(no route)", |r| r.0.as_str());
    tracing::info!(
        %method,
        route,
        status = resp.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        request_id = request_id(),
        "request"
    );
    resp
}
