//! Who is looking: the session cookie resolved to a principal (on every
//! request, from the database, so sign-out holds on every instance), the
//! role a page needs, and the CSRF check every state change goes through.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::error::ConsoleError;
use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::service::console;
use crate::shield::client::{ClientKey, resolve};
use crate::store::principals::{Principal, Role};

pub const SESSION_COOKIE: &str = "pingate_session";
/// Holds the sign-in form's anti-forgery value (double submit) before
/// there is a session.
pub const LOGIN_COOKIE: &str = "pingate_login";

/// The signed-in principal of this request.
#[derive(Clone)]
pub struct Viewer {
    pub principal: Principal,
    /// This session's anti-forgery token, put in every form.
    pub csrf: String,
    path: String,
    source: String,
    /// The cookie's token: a live stream re-checks the session with it.
    pub session: SecretString,
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<SecretString> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty() && v.len() <= 256)
        .map(|(_, v)| SecretString::from(v.to_string()))
}

/// The client address as the flood shields key it: the peer, or behind
/// `server.trusted_proxies` the first hop outside them (IPv6 by /64).
pub fn source(parts: &Parts, state: &AppState) -> String {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let ip = resolve(peer, &parts.headers, &state.settings.server.trusted_proxies);
    ClientKey::of(ip).to_string()
}

/// A keyed hash of the session token: forms carry it, a forger cannot
/// compute it, and nothing extra is stored.
fn csrf_for(state: &AppState, session_token: &SecretString) -> String {
    let key = state.keys.derive("pingate/console-csrf/v1");
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key.expose_secret())
        .expect("HMAC takes any key length");
    mac.update(session_token.expose_secret().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Refuses a state change a page of another site started (browsers say so
/// in `Sec-Fetch-Site`; `none` is the user's own navigation).
pub fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ConsoleError> {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None | Some("same-origin") | Some("none") => Ok(()),
        Some(_) => Err(ConsoleError::CrossSite),
    }
}

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ConsoleError> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::SignInRequired)?;
        // A live page's event stream is not the agent using the console.
        let touch = !parts.uri.path().ends_with("/live");
        let principal = console::session(state, &token, touch)
            .await?
            .ok_or(ConsoleError::SignInRequired)?;
        Ok(Viewer {
            csrf: csrf_for(state, &token),
            principal,
            path: parts.uri.path().to_string(),
            source: source(parts, state),
            session: token,
        })
    }
}

impl Viewer {
    /// The page needs one of `roles`; a refusal is audited like the API's.
    pub async fn require(
        &self,
        state: &AppState,
        roles: &'static [Role],
    ) -> Result<(), ConsoleError> {
        if roles.contains(&self.principal.role) {
            return Ok(());
        }
        let audited = async {
            let mut tx = state.store.begin(state.clock.now_ms()).await?;
            tx.audit(
                NewEvent::new(
                    EventKind::AuthzFail,
                    self.principal.actor(),
                    Outcome::Failure,
                )
                .detail("path", self.path.as_str())
                .detail("source", self.source.as_str()),
            );
            tx.commit().await
        }
        .await;
        if let Err(e) = audited {
            tracing::warn!(error = %e, "could not audit a refused console page");
        }
        Err(ConsoleError::Forbidden(roles))
    }
}

/// A state-changing form post: the viewer, the CSRF token checked, the
/// rest of the fields as `T`. Every console POST after sign-in uses it.
pub struct Posted<T> {
    pub viewer: Viewer,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for Posted<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ConsoleError> {
        let (mut parts, body) = req.into_parts();
        refuse_cross_site(&parts.headers)?;
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let limit = state.settings.server.max_body_bytes;
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| ConsoleError::BadForm)?;
        let mut fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| ConsoleError::BadForm)?;
        let sent = fields
            .iter()
            .position(|(k, _)| k == "csrf")
            .map(|i| fields.remove(i).1)
            .unwrap_or_default();
        if !same_secret(&sent, &viewer.csrf) {
            return Err(ConsoleError::Csrf);
        }
        let rest = serde_urlencoded::to_string(&fields).map_err(|_| ConsoleError::BadForm)?;
        let form = serde_urlencoded::from_str(&rest).map_err(|_| ConsoleError::BadForm)?;
        Ok(Posted { viewer, form })
    }
}
