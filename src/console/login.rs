//! Sign-in (an access token exchanged for a session cookie) and sign-out.
//! The sign-in form carries a double-submit anti-forgery value, since there
//! is no session yet to key one on.

use std::sync::Arc;

use axum::Form;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::ConsoleError;
use super::page;
use super::session::{self, LOGIN_COOKIE, Posted, SESSION_COOKIE, Viewer};
use crate::app::AppState;
use crate::ids;
use crate::service::{ServiceError, console};

fn cookie_attrs(state: &AppState) -> &'static str {
    if state
        .settings
        .server
        .public_base_url
        .starts_with("https://")
    {
        "; Path=/console; HttpOnly; SameSite=Strict; Secure"
    } else {
        "; Path=/console; HttpOnly; SameSite=Strict"
    }
}

fn set_cookie(resp: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn login_page(state: &AppState, status: StatusCode, error: Option<&str>) -> Response {
    // A fresh anti-forgery value with each form shown.
    let nonce = match ids::new_token("pgl_") {
        Ok(t) => t.secret,
        Err(e) => {
            return ConsoleError::Service(ServiceError::Internal(e.into())).into_response();
        }
    };
    let body = page::bare("Sign in", form_markup(nonce.expose_secret(), error));
    let mut resp = (status, body).into_response();
    set_cookie(
        &mut resp,
        format!(
            "{LOGIN_COOKIE}={}{}",
            nonce.expose_secret(),
            cookie_attrs(state)
        ),
    );
    resp
}

fn form_markup(nonce: &str, error: Option<&str>) -> Markup {
    html! {
        div.login {
            h1 { "Sign in" }
            @if let Some(e) = error { (page::message(false, e)) }
            form method="post" action="/console/login" {
                input type="hidden" name="login_csrf" value=(nonce);
                label for="access-token" { "Access token" }
                @if error.is_some() {
                    input id="access-token" name="access_token" type="password" autocomplete="off"
                        required aria-invalid="true" aria-describedby="token-hint";
                } @else {
                    input id="access-token" name="access_token" type="password" autocomplete="off"
                        required autofocus aria-describedby="token-hint";
                }
                p.hint id="token-hint" { "The token an administrator created for you with " code { "pingate agent add" } "." }
                p { button type="submit" { "Sign in" } }
            }
        }
    }
}

pub async fn form(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    if let Ok(viewer) = Viewer::from_request_parts(&mut parts, &state).await {
        return Redirect::to(page::start_page(viewer.principal.role)).into_response();
    }
    login_page(&state, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct SignInForm {
    access_token: SecretString,
    #[serde(default)]
    login_csrf: String,
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    parts_source: SourceAddr,
    Form(f): Form<SignInForm>,
) -> Response {
    if let Err(e) = session::refuse_cross_site(&headers) {
        return e.into_response();
    }
    let expected = session::cookie(&headers, LOGIN_COOKIE);
    if !expected.is_some_and(|c| session::same_secret(c.expose_secret(), &f.login_csrf)) {
        return login_page(
            &state,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired. Type the access token again."),
        );
    }
    let token = f.access_token.expose_secret().trim();
    if token.is_empty() || token.len() > 256 {
        return login_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Type your access token."),
        );
    }
    match console::sign_in(&state, &SecretString::from(token), &parts_source.0).await {
        Ok(Some(s)) => {
            let mut resp = Redirect::to(page::start_page(s.principal.role)).into_response();
            set_cookie(
                &mut resp,
                format!(
                    "{SESSION_COOKIE}={}{}",
                    s.token.expose_secret(),
                    cookie_attrs(&state)
                ),
            );
            set_cookie(
                &mut resp,
                format!("{LOGIN_COOKIE}=; Max-Age=0{}", cookie_attrs(&state)),
            );
            resp
        }
        Ok(None) => login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("That access token is not valid (or its principal is disabled)."),
        ),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

/// The client address, for the sign-in limit and the audit trail.
pub struct SourceAddr(String);

impl FromRequestParts<Arc<AppState>> for SourceAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(SourceAddr(session::source(parts, state)))
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    _posted: Posted<Empty>,
) -> Result<Response, ConsoleError> {
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE) {
        console::sign_out(&state, &token).await?;
    }
    let mut resp = Redirect::to("/console/login").into_response();
    set_cookie(
        &mut resp,
        format!("{SESSION_COOKIE}=; Max-Age=0{}", cookie_attrs(&state)),
    );
    Ok(resp)
}
