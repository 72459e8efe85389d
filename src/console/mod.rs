//! The agent console at `/console`: server-rendered pages (maud) over the
//! service layer, with its own sign-in sessions, CSRF checks and security
//! headers. It adds no business rule: every decision is a service call.

mod admin;
mod assets;
mod audit;
mod call;
mod call_actions;
mod calls;
mod error;
mod live;
mod login;
mod page;
mod principals;
mod session;
mod words;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

use crate::app::AppState;

/// No inline script or style, nothing from elsewhere, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'";

/// Every console route; merged into the application router in one line.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::sign_out))
        .route("/console/assets/{name}", get(assets::serve))
        .route("/console/calls", get(calls::page))
        .route("/console/calls/live", get(live::calls))
        .route("/console/calls/{call_id}", get(call::page))
        .route("/console/calls/{call_id}/live", get(live::call))
        .route("/console/calls/{call_id}/org", post(call_actions::attach))
        .route(
            "/console/calls/{call_id}/challenges",
            post(call_actions::send_pin),
        )
        .route("/console/calls/{call_id}/grant", post(call_actions::grant))
        .route("/console/calls/{call_id}/take", post(call_actions::take))
        .route(
            "/console/challenges/{challenge_id}/resend",
            post(call_actions::resend),
        )
        .route(
            "/console/challenges/{challenge_id}/check",
            post(call_actions::check),
        )
        .route(
            "/console/challenges/{challenge_id}/cancel",
            post(call_actions::cancel),
        )
        .route(
            "/console/grants/{grant_id}/revoke",
            post(call_actions::revoke),
        )
        .route("/console/audit", get(audit::page))
        .route("/console/audit/verify", get(audit::verify))
        .route("/console/audit/checkpoint", get(audit::checkpoint))
        .route("/console/audit/events/{seq}", get(audit::event))
        .route("/console/orgs", get(admin::orgs))
        .route(
            "/console/orgs/{org_id}",
            get(admin::org).post(admin::save_org),
        )
        .route("/console/principals", get(principals::list))
        .route(
            "/console/principals/{name}/disable",
            get(principals::confirm).post(principals::disable),
        )
        .layer(from_fn(security_headers))
}

/// Each role starts where its work is.
async fn home(viewer: session::Viewer) -> Redirect {
    Redirect::to(page::start_page(viewer.principal.role))
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}
