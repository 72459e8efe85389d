//! Bearer-token authentication and per-route roles. Each group of routes
//! is wrapped in [`require`] with the roles it accepts; a token of another
//! role gets 403, a missing or unknown token 401. Both are audited.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;

use super::error::ApiError;
use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::service::principals;
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

pub fn client_addr(req: &Request) -> String {
    crate::net::peer_addr(req)
}

/// Middleware: authenticate, check the role, put the `Principal` in the
/// request extensions for the handler.
pub async fn require(
    State((state, roles)): State<(Arc<AppState>, &'static [Role])>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let addr = client_addr(&req);
    let principal = match bearer(&req) {
        None => None,
        Some(token) => match principals::authenticate(&state, &token).await {
            Ok(p) => p,
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    let Some(principal) = principal else {
        audit_denial(
            &state,
            EventKind::AuthnTokenFail,
            "anonymous".into(),
            &path,
            &addr,
        )
        .await;
        return ApiError::Unauthenticated.into_response();
    };
    if !roles.contains(&principal.role) {
        audit_denial(
            &state,
            EventKind::AuthzFail,
            principal.actor(),
            &path,
            &addr,
        )
        .await;
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

async fn audit_denial(state: &AppState, kind: EventKind, actor: String, path: &str, addr: &str) {
    let result = async {
        let mut tx = state.store.begin(state.clock.now_ms()).await?;
        tx.audit(
            NewEvent::new(kind, actor, Outcome::Failure)
                .detail("path", path)
                .detail("source", addr),
        );
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not audit a denied request");
    }
}
