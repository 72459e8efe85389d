//! One error type for every HTTP answer that is not a success, rendered as
//! `application/problem+json` (RFC 9457) with a stable `type` per cause.
//! Internal causes are logged with the request, never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::http::webhooks::WebhookError;
use crate::net::BodyError;
use crate::service::ServiceError;
use crate::shield::flood::Refused;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("a valid bearer token is required")]
    Unauthenticated,
    #[error("this route needs the {0} role")]
    Forbidden(String),
    #[error("webhook signature is missing or invalid")]
    BadSignature,
    #[error("{0}")]
    BadRequest(String),
    /// A request field (body, query or path) that is malformed: named, with
    /// what it must be, never with the value sent.
    #[error("{field}: {message}")]
    BadField { field: String, message: String },
    #[error("request body is larger than the limit")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    #[error("{0}")]
    NotConfigured(String),
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => ApiError::PayloadTooLarge,
            BodyError::Unreadable => ApiError::BadRequest(e.to_string()),
        }
    }
}

/// A flood shield's refusal: 429 with `Retry-After`, logged and counted.
impl From<Refused> for ApiError {
    fn from(r: Refused) -> ApiError {
        let scope = r.scope.as_str();
        metrics::counter!("pingate_flood_refusals_total", "scope" => scope).increment(1);
        tracing::warn!(scope, "flood shield refused a request");
        ApiError::from(ServiceError::TooMany {
            detail: format!("too many {scope} requests; slow down"),
            retry_after_secs: r.retry_after_secs(),
        })
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::NotConfigured(_) => ApiError::NotConfigured(e.to_string()),
            WebhookError::BadSignature => ApiError::BadSignature,
            WebhookError::Flooded(refused) => refused.into(),
            WebhookError::Body(b) => b.into(),
            WebhookError::Service(s) => ApiError::Service(s),
            WebhookError::NotForm | WebhookError::Malformed(_) | WebhookError::UnknownStep(_) => {
                ApiError::BadRequest(e.to_string())
            }
        }
    }
}

/// Webhook handlers answer their refusals in the API's one format.
impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

struct Problem {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    extra: Map<String, Value>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn problem(&self) -> Problem {
        let p = |status, slug, title, detail: String| Problem {
            status,
            slug,
            title,
            detail,
            extra: Map::new(),
            retry_after: None,
        };
        match self {
            ApiError::Unauthenticated => p(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                self.to_string(),
            ),
            ApiError::Forbidden(_) => p(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                self.to_string(),
            ),
            ApiError::BadSignature => p(
                StatusCode::FORBIDDEN,
                "bad-signature",
                "Invalid webhook signature",
                self.to_string(),
            ),
            ApiError::BadRequest(d) => p(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Malformed request",
                d.clone(),
            ),
            ApiError::BadField { field, message } => {
                let mut pr = p(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    "Malformed request",
                    self.to_string(),
                );
                pr.extra.insert(
                    "errors".into(),
                    json!([{ "field": field, "message": message }]),
                );
                pr
            }
            ApiError::PayloadTooLarge => p(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
                self.to_string(),
            ),
            ApiError::UnsupportedMediaType(d) => p(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                d.clone(),
            ),
            ApiError::RouteNotFound => p(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                self.to_string(),
            ),
            ApiError::MethodNotAllowed => p(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                self.to_string(),
            ),
            ApiError::NotConfigured(d) => p(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-configured",
                "Not configured",
                d.clone(),
            ),
            ApiError::Service(e) => match e {
                ServiceError::Forbidden(d) => {
                    p(StatusCode::FORBIDDEN, "forbidden", "Forbidden", d.clone())
                }
                ServiceError::NotFound(what) => p(
                    StatusCode::NOT_FOUND,
                    "not-found",
                    "Not found",
                    format!("{what} not found"),
                ),
                ServiceError::Conflict {
                    kind,
                    detail,
                    status,
                } => {
                    let mut pr = p(StatusCode::CONFLICT, kind, "Conflict", detail.clone());
                    if let Some(s) = status {
                        pr.extra.insert("state".into(), Value::String(s.clone()));
                    }
                    pr
                }
                ServiceError::HandledByOther { handler } => {
                    let mut pr = p(
                        StatusCode::CONFLICT,
                        "handled-by-another-agent",
                        "Conflict",
                        e.to_string(),
                    );
                    pr.extra
                        .insert("handled_by".into(), Value::String(handler.clone()));
                    pr
                }
                ServiceError::GrantExists { grant_id } => {
                    let mut pr = p(
                        StatusCode::CONFLICT,
                        "grant-exists",
                        "Conflict",
                        e.to_string(),
                    );
                    pr.extra
                        .insert("grant_id".into(), Value::String(grant_id.clone()));
                    pr
                }
                ServiceError::Invalid { field, message } => {
                    let mut pr = p(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "validation",
                        "Invalid input",
                        format!("{field}: {message}"),
                    );
                    pr.extra.insert(
                        "errors".into(),
                        json!([{ "field": field, "message": message }]),
                    );
                    pr
                }
                ServiceError::InvalidMany(errors) => {
                    let mut pr = p(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "validation",
                        "Invalid input",
                        e.to_string(),
                    );
                    pr.extra.insert(
                        "errors".into(),
                        errors
                            .iter()
                            .map(|e| json!({"org": e.org, "field": e.field, "message": e.message}))
                            .collect(),
                    );
                    pr
                }
                ServiceError::TooMany {
                    detail,
                    retry_after_secs,
                } => {
                    let mut pr = p(
                        StatusCode::TOO_MANY_REQUESTS,
                        "quota-exceeded",
                        "Too many requests",
                        detail.clone(),
                    );
                    pr.retry_after = Some(*retry_after_secs);
                    pr
                }
                ServiceError::Unavailable {
                    detail,
                    retry_after_secs,
                } => {
                    let mut pr = p(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "Service unavailable",
                        detail.clone(),
                    );
                    pr.retry_after = Some(*retry_after_secs);
                    pr
                }
                ServiceError::Store(crate::store::StoreError::Db(sqlx::Error::PoolTimedOut)) => {
                    let mut pr = p(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "Service unavailable",
                        "the database is busy; try again shortly".into(),
                    );
                    pr.retry_after = Some(1);
                    pr
                }
                ServiceError::Store(_) | ServiceError::Internal(_) => p(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the server failed; the request id identifies it in the logs".into(),
                ),
            },
        }
    }
}

pub fn problem_response(status: StatusCode, slug: &str, title: &str, detail: &str) -> Response {
    let body = json!({
        "type": format!("urn:pingate:problem:{slug}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let pr = self.problem();
        if pr.status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut body = json!({
            "type": format!("urn:pingate:problem:{}", pr.slug),
            "title": pr.title,
            "status": pr.status.as_u16(),
            "detail": pr.detail,
        });
        if let Value::Object(map) = &mut body {
            map.extend(pr.extra);
        }
        let mut resp = (pr.status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = pr.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        if pr.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
