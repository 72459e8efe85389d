//! An imitation of Telnyx's Messaging API v2 on 127.0.0.1, serving
//! `POST /v2/messages` as documented: a bearer API key, a JSON body with
//! `from`, `to`, `text` and an optional `webhook_url`, `200 OK` with the
//! message resource under `data`, and Telnyx's error JSON
//! (`{"errors": [{"code", "title", "detail"}]}`) otherwise.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::imitation::{Inbox, Served};

/// One message the API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// The message id (a UUID), as in the answer.
    pub id: String,
    pub from: String,
    pub to: String,
    pub text: String,
    pub webhook_url: Option<String>,
}

struct Shared {
    api_key: String,
    inbox: Inbox<SentSms>,
}

pub struct TelnyxApi {
    served: Served,
    shared: Arc<Shared>,
}

impl TelnyxApi {
    pub async fn start(api_key: &str) -> TelnyxApi {
        let shared = Arc::new(Shared {
            api_key: api_key.to_owned(),
            inbox: Inbox::new(),
        });
        let app = Router::new()
            .route("/v2/messages", post(create_message))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "10005", "Resource not found") })
            .with_state(Arc::clone(&shared));
        let served = Served::start(app, "Telnyx").await;
        TelnyxApi { served, shared }
    }

    /// To be configured as `telnyx.api_base_url`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    pub fn messages(&self) -> Vec<SentSms> {
        self.shared.inbox.all()
    }

    /// Waits until `n` messages were accepted; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<SentSms> {
        self.shared.inbox.wait_for(n, timeout, "Telnyx").await
    }
}

fn error(status: StatusCode, code: &str, title: &str) -> Response {
    let body = json!({"errors": [{"code": code, "title": title, "detail": title}]});
    (status, axum::Json(body)).into_response()
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(shared.api_key.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "10009", "Authentication failed");
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "10015", "Invalid JSON");
    };
    let field = |name: &str| req[name].as_str().filter(|s| !s.is_empty());
    let (Some(from), Some(to), Some(text)) = (field("from"), field("to"), field("text")) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "10002",
            "Invalid parameter",
        );
    };
    if !(to.starts_with('+') && to.len() > 8 && to[1..].bytes().all(|b| b.is_ascii_digit())) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "40310",
            "Invalid 'to' address",
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let webhook_url = field("webhook_url").map(str::to_owned);
    let resource = json!({"data": {
        "record_type": "message",
        "id": id,
        "direction": "outbound",
        "type": "SMS",
        "from": {"phone_number": from},
        "to": [{"phone_number": to, "status": "queued"}],
        "text": text,
        "webhook_url": webhook_url,
        "errors": [],
    }});
    shared.inbox.push(SentSms {
        id,
        from: from.to_owned(),
        to: to.to_owned(),
        text: text.to_owned(),
        webhook_url,
    });
    (StatusCode::OK, axum::Json(resource)).into_response()
}
