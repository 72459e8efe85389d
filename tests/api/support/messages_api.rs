//! An imitation of Twilio's Messages API on 127.0.0.1, serving
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` as documented:
//! HTTP Basic authentication with the account SID and auth token, a form
//! body, `201 Created` with a message resource, and Twilio's error JSON
//! (`code`, `message`, `more_info`, `status`) otherwise.
//!
//! It lets the tests run pingate's real HTTP client against a server that
//! answers as the provider would, including scripted failures.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

const API_VERSION: &str = "2010-04-01";
/// Twilio refuses a body longer than this many characters (error 21617).
const MAX_BODY_CHARS: usize = 1600;

/// One message the API accepted (answered 201).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// "SM" followed by 32 lowercase hex digits, as in the 201 response.
    pub sid: String,
    pub to: String,
    /// The `From` parameter; empty when only `MessagingServiceSid` was given.
    pub from: String,
    pub messaging_service_sid: Option<String>,
    pub body: String,
    pub status_callback: Option<String>,
}

/// A response scripted by [`MessagesApi::fail_next`].
#[derive(Debug, Clone, Copy)]
struct Fault {
    status: StatusCode,
    code: u32,
}

struct Shared {
    account_sid: String,
    auth_token: String,
    sent: Mutex<Vec<SentSms>>,
    /// The number of accepted messages; a watch channel so `wait_for` wakes
    /// on the change itself instead of polling.
    accepted: watch::Sender<usize>,
    faults: Mutex<VecDeque<Fault>>,
    requests: AtomicUsize,
    retry_after_secs: AtomicU64,
    /// SIDs to hand out next, before random ones (for callbacks that
    /// arrive before the sender recorded the send).
    next_sids: Mutex<VecDeque<String>>,
}

/// Locks a mutex even if a panicking test poisoned it, so one failed
/// assertion does not turn every later request into a 500.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running imitation; it stops on [`MessagesApi::shutdown`] or drop.
pub struct MessagesApi {
    port: u16,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MessagesApi {
    /// Starts the API for one account on a free port.
    pub async fn start(account_sid: &str, auth_token: &str) -> MessagesApi {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind the Messages API imitation on 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            sent: Mutex::new(Vec::new()),
            accepted: watch::Sender::new(0),
            faults: Mutex::new(VecDeque::new()),
            requests: AtomicUsize::new(0),
            retry_after_secs: AtomicU64::new(1),
            next_sids: Mutex::new(VecDeque::new()),
        });
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                post(create_message),
            )
            .fallback(not_found)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Dropping the sender (the handle was dropped) also stops it.
            let signal = async {
                let _ = stopped.await;
            };
            axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
                .expect("the Messages API imitation failed");
        });
        MessagesApi {
            port,
            shared,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`, to be configured in place of
    /// `https://api.twilio.com`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every accepted message so far, in arrival order.
    pub fn messages(&self) -> Vec<SentSms> {
        lock(&self.shared.sent).clone()
    }

    /// Every request to the Messages endpoint, accepted or refused (scripted
    /// failures and authentication errors included): the send attempts.
    pub fn requests_seen(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` messages were accepted and returns them all.
    /// Panics after `timeout`: in a test a missing SMS is a failure.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<SentSms> {
        let mut accepted = self.shared.accepted.subscribe();
        let arrived = matches!(
            tokio::time::timeout(timeout, accepted.wait_for(|count| *count >= n)).await,
            Ok(Ok(_))
        );
        let sent = self.messages();
        assert!(
            arrived,
            "expected at least {n} SMS at {} within {timeout:?}, got {} after {} request(s): {sent:#?}",
            self.base_url(),
            sent.len(),
            self.requests_seen()
        );
        sent
    }

    /// The next `n` authenticated requests are answered with `status` and
    /// Twilio's error JSON for `twilio_code` (e.g. 500/20500, 429/20429
    /// with `Retry-After`, 400/21610 unsubscribed, 400/21614 not a mobile
    /// number) and are not recorded as sent.
    pub fn fail_next(&self, n: usize, status: u16, twilio_code: u32) {
        let status = StatusCode::from_u16(status).expect("fail_next needs a valid HTTP status");
        let fault = Fault {
            status,
            code: twilio_code,
        };
        lock(&self.shared.faults).extend(std::iter::repeat_n(fault, n));
    }

    /// The SID the next accepted message gets.
    pub fn set_next_sid(&self, sid: &str) {
        lock(&self.shared.next_sids).push_back(sid.to_owned());
    }

    /// The `Retry-After` value, in seconds, sent with scripted 429 and 503
    /// answers; 1 unless changed.
    pub fn set_retry_after(&self, seconds: u64) {
        self.shared
            .retry_after_secs
            .store(seconds, Ordering::SeqCst);
    }

    /// Stops accepting connections and waits for open ones to finish, so
    /// nothing answers on the port afterwards.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("the Messages API imitation panicked");
        }
    }
}

/// Twilio's error body, e.g. `{"code": 20003, "message": "Authenticate",
/// "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`.
fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

/// Twilio's wording for the codes the tests are likely to script.
fn message_for(code: u32) -> &'static str {
    match code {
        20003 => "Authenticate",
        20404 => "The requested resource was not found",
        20429 => "Too Many Requests",
        20500 => "An internal server error has occurred",
        20503 => "Service unavailable",
        // Twilio's own wording names the number, as real error texts do.
        21211 => "The 'To' number {to} is not a valid phone number.",
        21408 => {
            "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"
        }
        21602 => "Message body is required.",
        21603 => "A 'From' phone number is required.",
        21604 => "A 'To' phone number is required.",
        21610 => "Attempt to send to unsubscribed recipient",
        21612 => "The 'To' phone number is not currently reachable via SMS",
        21614 => "'To' number is not a valid mobile number",
        21617 => "The concatenated message body exceeds the 1600 character limit.",
        30007 => "Message filtered",
        _ => "Error",
    }
}

async fn not_found(uri: Uri) -> Response {
    let message = format!("The requested resource {} was not found", uri.path());
    twilio_error(StatusCode::NOT_FOUND, 20404, &message)
}

/// Whether the Basic credentials are this account's SID and auth token.
fn authenticated(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Some(decoded) = BASE64
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return false;
    };
    decoded.split_once(':') == Some((shared.account_sid.as_str(), shared.auth_token.as_str()))
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    // Credentials for another account do not open this one's resources.
    if !authenticated(&shared, &headers) || account_sid != shared.account_sid {
        let mut response = twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Twilio API\""),
        );
        return response;
    }
    let fault = lock(&shared.faults).pop_front();
    if let Some(fault) = fault {
        let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        let to = params
            .iter()
            .find(|(k, _)| k == "To")
            .map_or("", |(_, v)| v.as_str());
        let message = message_for(fault.code).replace("{to}", to);
        let mut response = twilio_error(fault.status, fault.code, &message);
        if matches!(fault.status.as_u16(), 429 | 503) {
            let seconds = shared.retry_after_secs.load(Ordering::SeqCst);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    // A body that is not a form simply carries none of the parameters,
    // which the checks below then report as Twilio would.
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    match accept(&shared, &params) {
        Ok(resource) => (StatusCode::CREATED, axum::Json(resource)).into_response(),
        Err((code, message)) => twilio_error(StatusCode::BAD_REQUEST, code, &message),
    }
}

/// The first non-empty value of parameter `name`; Twilio treats an empty
/// value as absent.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, value)| key == name && !value.is_empty())
        .map(|(_, value)| value.as_str())
}

/// Validates the parameters in Twilio's order, records the message and
/// returns its resource, or the Twilio error code and message.
fn accept(
    shared: &Shared,
    params: &[(String, String)],
) -> Result<serde_json::Value, (u32, String)> {
    let Some(to) = param(params, "To") else {
        return Err((21604, message_for(21604).to_owned()));
    };
    if !is_e164(to) {
        return Err((
            21211,
            format!("The 'To' number {to} is not a valid phone number."),
        ));
    }
    let from = param(params, "From");
    let service = param(params, "MessagingServiceSid");
    if from.is_none() && service.is_none() {
        return Err((21603, message_for(21603).to_owned()));
    }
    let Some(body) = param(params, "Body") else {
        return Err((21602, message_for(21602).to_owned()));
    };
    if body.chars().count() > MAX_BODY_CHARS {
        return Err((21617, message_for(21617).to_owned()));
    }
    let status_callback = param(params, "StatusCallback");
    if let Some(url) = status_callback
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        let message = format!("The StatusCallback URL {url} is not a valid URL.");
        return Err((21609, message));
    }

    let sid = lock(&shared.next_sids)
        .pop_front()
        .unwrap_or_else(|| format!("SM{}", hex::encode(rand::random::<[u8; 16]>())));
    let now = OffsetDateTime::now_utc()
        .format(&Rfc2822)
        .expect("format the current time as RFC 2822");
    let account = &shared.account_sid;
    let uri = format!("/{API_VERSION}/Accounts/{account}/Messages/{sid}.json");
    let resource = json!({
        "account_sid": account,
        "api_version": API_VERSION,
        "body": body,
        "date_created": now,
        "date_sent": null,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": from,
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": num_segments(body).to_string(),
        "price": null,
        "price_unit": "USD",
        "sid": sid,
        // A message sent through a Messaging Service starts as "accepted"
        // while the service picks a sender; otherwise it is "queued".
        "status": if from.is_none() { "accepted" } else { "queued" },
        "subresource_uris": {
            "media": format!("/{API_VERSION}/Accounts/{account}/Messages/{sid}/Media.json"),
        },
        "to": to,
        "uri": uri,
    });

    let sms = SentSms {
        sid,
        to: to.to_owned(),
        from: from.unwrap_or_default().to_owned(),
        messaging_service_sid: service.map(str::to_owned),
        body: body.to_owned(),
        status_callback: status_callback.map(str::to_owned),
    };
    let count = {
        let mut sent = lock(&shared.sent);
        sent.push(sms);
        sent.len()
    };
    shared.accepted.send_replace(count);
    Ok(resource)
}

/// E.164: "+", a non-zero leading digit and at most 15 digits in all.
fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The GSM 03.38 default alphabet; each of these costs one septet.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table; each costs two septets (escape + character).
const GSM7_EXTENDED: &str = "\u{c}^{}\\[~]|€";

/// How many SMS segments the body takes: GSM-7 when every character is in
/// that alphabet (160 septets alone, 153 per part when concatenated), UCS-2
/// otherwise (70 code units alone, 67 per part).
fn num_segments(body: &str) -> usize {
    let septets: Option<usize> = body
        .chars()
        .map(|c| {
            if GSM7_BASIC.contains(c) {
                Some(1)
            } else if GSM7_EXTENDED.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (units, single, part) = match septets {
        Some(septets) => (septets, 160, 153),
        None => (body.encode_utf16().count(), 70, 67),
    };
    if units <= single {
        1
    } else {
        units.div_ceil(part)
    }
}
