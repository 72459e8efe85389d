//! What a console request answers when it cannot do what was asked: an
//! HTML page in plain words (never an internal cause, never the input
//! echoed), or the sign-in page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::page;
use super::words;
use crate::service::ServiceError;
use crate::store::principals::Role;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("sign in first")]
    SignInRequired,
    #[error("this page needs another role")]
    Forbidden(&'static [Role]),
    #[error("the form's anti-forgery token is missing or wrong")]
    Csrf,
    #[error("the request came from another site")]
    CrossSite,
    #[error("the form could not be read")]
    BadForm,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(e: crate::store::StoreError) -> Self {
        ConsoleError::Service(e.into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, text) = match &self {
            ConsoleError::SignInRequired => {
                return Redirect::to("/console/login").into_response();
            }
            ConsoleError::Forbidden(roles) => (
                StatusCode::FORBIDDEN,
                format!(
                    "Your role cannot open this page: it is for the {} role.",
                    roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            ),
            ConsoleError::Csrf | ConsoleError::CrossSite => (
                StatusCode::FORBIDDEN,
                "This form was not sent from this console page. Reload the page and try again."
                    .to_string(),
            ),
            ConsoleError::BadForm => (
                StatusCode::BAD_REQUEST,
                "The form could not be read. Reload the page and try again.".to_string(),
            ),
            ConsoleError::NotFound(what) => {
                (StatusCode::NOT_FOUND, format!("There is no such {what}."))
            }
            ConsoleError::Service(e) => words::service_error(e),
        };
        let retry = match &self {
            ConsoleError::Service(ServiceError::TooMany {
                retry_after_secs, ..
            }) => Some(*retry_after_secs),
            _ => None,
        };
        let body = page::bare(
            "Cannot do that",
            html! {
                h1 { "Cannot do that" }
                p.msg.error role="alert" tabindex="-1" data-focus { (text) }
                p { a href="/console" { "Back to the console" } }
            },
        );
        let mut resp = (status, body).into_response();
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
