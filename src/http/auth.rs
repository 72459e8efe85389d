//! Bearer-token authentication and per-route roles. Each group of routes
//! is wrapped in [`require`] with the roles it accepts; a token of another
//! role gets 403, a missing or unknown token 401. Both are audited (failed
//! logins folded per address, see `failure_audit`), naming the route
//! template, never the raw path. The flood shield charges the client
//! address until a token verifies, the principal after.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;

use super::error::ApiError;
use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::service::principals;
use crate::shield::client::{ClientKey, client_ip};
use crate::shield::failure_audit::{self, Failure};
use crate::store::principals::Role;

fn bearer(req: &Request) -> Option<SecretString> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty() && token.len() <= 256).then(|| SecretString::from(token))
}

/// The client's address as the audit trail records it (see `client`).
pub fn client_addr(state: &AppState, req: &Request) -> ClientKey {
    ClientKey::of(client_ip(req, &state.settings.server.trusted_proxies))
}

/// The route template the request matched (`/v1/calls/{call_id}`).
fn route_of(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned())
}

/// Middleware: authenticate, check the role, put the `Principal` in the
/// request extensions for the handler.
pub async fn require(
    State((state, roles)): State<(Arc<AppState>, &'static [Role])>,
    mut req: Request,
    next: Next,
) -> Response {
    let route = route_of(&req);
    let client = client_addr(&state, &req);
    if let Err(refused) = state.shield.before_login(client) {
        state
            .shield
            .folder
            .refused(EventKind::AuthnTokenFail, client);
        return refused.into_response();
    }
    let principal = match bearer(&req) {
        None => None,
        Some(token) => match principals::authenticate(&state, &token).await {
            Ok(p) => p,
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    let Some(principal) = principal else {
        state.shield.login_failed(client);
        let failure = Failure {
            kind: EventKind::AuthnTokenFail,
            actor: "anonymous",
            source: client,
            path: &route,
            reason: None,
        };
        let now = state.clock.now_ms();
        let events = state.shield.folder.record(&failure, now);
        failure_audit::write(&state.store, now, events).await;
        return ApiError::Unauthenticated.into_response();
    };
    if let Err(refused) = state.shield.principal(&principal.id) {
        return refused.into_response();
    }
    if !roles.contains(&principal.role) {
        audit_denial(&state, principal.actor(), &route, client).await;
        let names = roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        return ApiError::Forbidden(names).into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// A verified principal on a route of another role: one event each (the
/// principal's own flood budget bounds them).
async fn audit_denial(state: &AppState, actor: String, route: &str, client: ClientKey) {
    let event = NewEvent::new(EventKind::AuthzFail, actor, Outcome::Failure)
        .detail("path", route)
        .detail("source", client.to_string());
    failure_audit::write(&state.store, state.clock.now_ms(), vec![event]).await;
}
