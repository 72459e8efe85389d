//! An imitation of Vonage's SMS API on 127.0.0.1, serving `POST /sms/json`
//! as documented: a form with `api_key`, `api_secret`, `from`, `to`
//! (digits, no `+`), `text` and optional `callback` and
//! `status-report-req`; it always answers `200 OK` with
//! `{"message-count", "messages": [{"status", ...}]}`, status `"0"` with a
//! `message-id` when accepted, otherwise a refusal code and `error-text`
//! (`2` missing parameter, `3` invalid parameter, `4` bad credentials).
//! `refuse_next` makes it answer the next request with a given code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One message the API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// The message id, as in the answer and the delivery receipts.
    pub id: String,
    pub from: String,
    pub to: String,
    pub text: String,
    pub callback: Option<String>,
    pub status_report_req: Option<String>,
}

struct Shared {
    api_key: String,
    api_secret: String,
    sent: Mutex<Vec<SentSms>>,
    refuse_next: Mutex<Option<&'static str>>,
    requests: watch::Sender<usize>,
    accepted: watch::Sender<usize>,
}

pub struct VonageApi {
    port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl VonageApi {
    pub async fn start(api_key: &str, api_secret: &str) -> VonageApi {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind the Vonage API imitation");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            api_key: api_key.to_owned(),
            api_secret: api_secret.to_owned(),
            sent: Mutex::new(Vec::new()),
            refuse_next: Mutex::new(None),
            requests: watch::Sender::new(0),
            accepted: watch::Sender::new(0),
        });
        let app = Router::new()
            .route("/sms/json", post(send_sms))
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the Vonage imitation failed");
        });
        VonageApi { port, shared, task }
    }

    /// To be configured as `vonage.api_base_url`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The next request is refused with this status code.
    pub fn refuse_next(&self, code: &'static str) {
        *self
            .shared
            .refuse_next
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(code);
    }

    pub fn messages(&self) -> Vec<SentSms> {
        self.shared
            .sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until `n` requests arrived, accepted or not; panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) {
        let mut requests = self.shared.requests.subscribe();
        let arrived = tokio::time::timeout(timeout, requests.wait_for(|c| *c >= n)).await;
        assert!(
            matches!(arrived, Ok(Ok(_))),
            "expected {n} requests at the Vonage imitation"
        );
    }

    /// Waits until `n` messages were accepted; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<SentSms> {
        let mut accepted = self.shared.accepted.subscribe();
        let arrived = matches!(
            tokio::time::timeout(timeout, accepted.wait_for(|c| *c >= n)).await,
            Ok(Ok(_))
        );
        let sent = self.messages();
        assert!(
            arrived,
            "expected {n} SMS at the Vonage imitation, got {sent:#?}"
        );
        sent
    }
}

impl Drop for VonageApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn refusal(status: &str, text: &str) -> Response {
    let body = json!({"message-count": "1", "messages": [{"status": status, "error-text": text}]});
    axum::Json(body).into_response()
}

async fn send_sms(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    shared.requests.send_modify(|n| *n += 1);
    let refuse = shared
        .refuse_next
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(code) = refuse {
        return refusal(code, "Refused as asked by the test");
    }
    let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) else {
        return refusal("3", "Invalid form");
    };
    let field = |name: &str| form.get(name).filter(|v| !v.is_empty()).cloned();
    if field("api_key").as_deref() != Some(shared.api_key.as_str())
        || field("api_secret").as_deref() != Some(shared.api_secret.as_str())
    {
        return refusal("4", "Bad Credentials");
    }
    let (Some(from), Some(to), Some(text)) = (field("from"), field("to"), field("text")) else {
        return refusal("2", "Missing from, to or text param");
    };
    if !(to.len() > 7 && to.bytes().all(|b| b.is_ascii_digit())) {
        return refusal("3", "Invalid to param");
    }
    let id = format!("{:016X}", rand_id());
    let count = {
        let mut sent = shared.sent.lock().unwrap_or_else(PoisonError::into_inner);
        sent.push(SentSms {
            id: id.clone(),
            from,
            to: to.clone(),
            text,
            callback: field("callback"),
            status_report_req: field("status-report-req"),
        });
        sent.len()
    };
    shared.accepted.send_replace(count);
    let body = json!({"message-count": "1", "messages": [{
        "to": to, "message-id": id, "status": "0", "remaining-balance": "3.14159265",
        "message-price": "0.03330000", "network": "23410",
    }]});
    axum::Json(body).into_response()
}

fn rand_id() -> u64 {
    let id = uuid::Uuid::new_v4();
    u64::from_be_bytes(id.as_bytes()[..8].try_into().expect("eight bytes"))
}
