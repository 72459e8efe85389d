//! An imitation of Plivo's Message API on 127.0.0.1, serving
//! `POST /v1/Account/{auth_id}/Message/` as documented: Basic auth with the
//! Auth ID and Auth Token (and the path's Auth ID the same), a JSON body
//! with `src`, `dst`, `text` and optional `url` / `method` for status
//! callbacks, `202 Accepted` with `message_uuid` (a list) and `api_id`, and
//! Plivo's error JSON (`{"api_id", "error"}`) otherwise.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::imitation::{Inbox, Served};

/// One message the API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// The message UUID, as in the answer.
    pub uuid: String,
    pub src: String,
    pub dst: String,
    pub text: String,
    pub url: Option<String>,
    pub method: Option<String>,
}

struct Shared {
    auth_id: String,
    auth_token: String,
    inbox: Inbox<SentSms>,
}

pub struct PlivoApi {
    served: Served,
    shared: Arc<Shared>,
}

impl PlivoApi {
    pub async fn start(auth_id: &str, auth_token: &str) -> PlivoApi {
        let shared = Arc::new(Shared {
            auth_id: auth_id.to_owned(),
            auth_token: auth_token.to_owned(),
            inbox: Inbox::new(),
        });
        let app = Router::new()
            .route("/v1/Account/{auth_id}/Message/", post(create_message))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "not found") })
            .with_state(Arc::clone(&shared));
        let served = Served::start(app, "Plivo").await;
        PlivoApi { served, shared }
    }

    /// To be configured as `plivo.api_base_url`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    pub fn messages(&self) -> Vec<SentSms> {
        self.shared.inbox.all()
    }

    /// Waits until `n` messages were accepted; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<SentSms> {
        self.shared.inbox.wait_for(n, timeout, "Plivo").await
    }
}

fn error(status: StatusCode, text: &str) -> Response {
    let body = json!({"api_id": uuid::Uuid::new_v4().to_string(), "error": text});
    (status, axum::Json(body)).into_response()
}

fn authorized(shared: &Shared, path_id: &str, headers: &HeaderMap) -> bool {
    let expected = BASE64.encode(format!("{}:{}", shared.auth_id, shared.auth_token));
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    path_id == shared.auth_id && given == Some(expected.as_str())
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(auth_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&shared, &auth_id, &headers) {
        return error(StatusCode::UNAUTHORIZED, "Authentication failed");
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid JSON");
    };
    let field = |name: &str| req[name].as_str().filter(|s| !s.is_empty());
    let (Some(src), Some(dst), Some(text)) = (field("src"), field("dst"), field("text")) else {
        return error(StatusCode::BAD_REQUEST, "src, dst and text are required");
    };
    let digits = dst.trim_start_matches('+');
    if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return error(StatusCode::BAD_REQUEST, "invalid dst parameter");
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    shared.inbox.push(SentSms {
        uuid: uuid.clone(),
        src: src.to_owned(),
        dst: dst.to_owned(),
        text: text.to_owned(),
        url: field("url").map(str::to_owned),
        method: field("method").map(str::to_owned),
    });
    let answer = json!({
        "api_id": uuid::Uuid::new_v4().to_string(),
        "message": "message(s) queued",
        "message_uuid": [uuid],
    });
    (StatusCode::ACCEPTED, axum::Json(answer)).into_response()
}
