//! The HTTP surface: every router merged in one place, each API group
//! behind the role it needs, and the cross-cutting layers (request ids,
//! tracing, body limit, timeout, panic catcher).

pub mod access_log;
pub mod audit;
pub mod auth;
pub mod calls;
pub mod error;
pub mod extract;
pub mod grants;
pub mod lockouts;
pub mod openapi;
pub mod ops;
pub mod orgs;
pub mod overrides;
pub mod page;
pub mod principals;
pub mod request_id;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::store::principals::Role;
use error::{ApiError, problem_response};

const AGENT: &[Role] = &[Role::Agent];
const REVIEWER: &[Role] = &[Role::Reviewer];
const ADMIN: &[Role] = &[Role::Admin];
/// Grants are read and revoked by agents (their own) and admins (any);
/// introspection serves support tooling holding either token.
const AGENT_OR_ADMIN: &[Role] = &[Role::Agent, Role::Admin];

fn guarded(
    state: &Arc<AppState>,
    roles: &'static [Role],
    router: Router<Arc<AppState>>,
) -> Router<Arc<AppState>> {
    router.route_layer(from_fn_with_state(
        (Arc::clone(state), roles),
        auth::require,
    ))
}

/// The whole application router. `hard_stop` cuts requests short when the
/// shutdown grace period ends (see [`access_log`]).
pub fn router(state: Arc<AppState>, hard_stop: tokio::sync::watch::Receiver<bool>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let limit = state.settings.server.max_body_bytes;
    let timeout = state.settings.server.request_timeout.0;
    // The flood shields are applied where what they key on is known: the
    // webhook handlers after the signature check, `auth::require` before
    // and after the token lookup.
    // Each provider's webhooks: one router per provider.
    let webhooks = Router::new()
        .merge(webhooks::twilio::router())
        .merge(webhooks::telnyx::router())
        .merge(webhooks::plivo::router())
        .merge(webhooks::vonage::router());
    let api = Router::new()
        .merge(guarded(&state, AGENT, calls::router()))
        .merge(guarded(&state, AGENT_OR_ADMIN, grants::router()))
        .merge(guarded(&state, REVIEWER, audit::router()))
        .merge(guarded(&state, ADMIN, orgs::router()))
        .merge(guarded(&state, ADMIN, lockouts::router()))
        .merge(guarded(&state, ADMIN, overrides::router()))
        .merge(guarded(&state, ADMIN, principals::router()));
    Router::new()
        .merge(ops::router())
        .merge(webhooks)
        .merge(api)
        .merge(crate::console::router())
        .route_layer(axum::middleware::from_fn(access_log::tag_route))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limit))
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::map_request(request_id::sanitize))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("");
                            // The route template only (recorded once matched): raw
                            // paths and queries may carry numbers or tokens.
                            tracing::info_span!(
                                "request",
                                method = %req.method(),
                                route = tracing::field::Empty,
                                request_id = %id
                            )
                        })
                        // The access log below writes the one line per request.
                        .on_request(())
                        .on_response(()),
                )
                .layer(axum::middleware::from_fn_with_state(
                    hard_stop,
                    access_log::log,
                ))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CatchPanicLayer::custom(|_| panic_response()))
                // Outside the timeout, so its bare 408 becomes problem+json.
                .layer(axum::middleware::map_response(timeout_problem))
                .layer(axum::middleware::map_response(plain_rejection_problem))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    timeout,
                )),
        )
        .with_state(state)
}

async fn timeout_problem(resp: Response) -> Response {
    if resp.status() == StatusCode::REQUEST_TIMEOUT
        && !resp
            .headers()
            .contains_key(axum::http::header::CONTENT_TYPE)
    {
        return problem_response(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "Request timeout",
            "the request took longer than server.request_timeout",
        );
    }
    resp
}

/// The safety net under our extractors: any other text/plain refusal
/// (a framework rejection) is answered as problem+json, in our words.
async fn plain_rejection_problem(resp: Response) -> Response {
    let status = resp.status();
    let plain = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/plain"));
    if !plain || !status.is_client_error() {
        return resp;
    }
    let title = status.canonical_reason().unwrap_or("Client error");
    problem_response(
        status,
        "bad-request",
        title,
        "the request was refused before it reached pingate's handlers; see the API reference for its shape",
    )
}

fn panic_response() -> Response {
    problem_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        "the server failed; the request id identifies it in the logs",
    )
    .into_response()
}

/// How long in-flight requests get to finish after SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
