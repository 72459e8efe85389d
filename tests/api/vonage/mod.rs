//! Vonage against the running server: Voice API webhooks (answer as GET
//! or POST, input, event) and SMS API delivery receipts, each signed with
//! an HS256 JWT by this module's own signer (hmac + sha2 over the compact
//! token, never pingate's code), SMS through an imitation of the SMS API
//! (`support::vonage_api`). The whole flow, and every unsigned, forged,
//! stale or replayed request refused and audited once.

mod flow;
mod refusals;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use pingate::config::{Secret, Settings, SmsTransport};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::app::{Engine, Options, TestApp};
use crate::support::vonage_api::VonageApi;

const ANSWER: &str = "/webhooks/vonage/answer";
const INPUT: &str = "/webhooks/vonage/input";
const EVENT: &str = "/webhooks/vonage/event";
const MESSAGE_STATUS: &str = "/webhooks/vonage/message-status";
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
const SECRET: &str = "ZYtdTtGV3BCFN7tWmOWr1md66XsquMggr4W2cTtXtcPgfnI0Xw";
const API_KEY: &str = "a1b2c3d4";
const API_SECRET: &str = "Vonage-api-secret-1";
const WAIT: Duration = Duration::from_secs(20);

/// Vonage's settings for a test server, sending SMS through `api`.
fn vonage_settings(s: &mut Settings, api_base_url: String) {
    s.vonage.signature_secret = Some(Secret::from(SECRET));
    s.vonage.api_key = Some(API_KEY.into());
    s.vonage.api_secret = Some(Secret::from(API_SECRET));
    s.vonage.api_base_url = api_base_url;
    s.vonage.sms_from = Some("+18005550122".into());
    s.sms.transport = SmsTransport::Vonage;
}

/// A server speaking Vonage, and the SMS API it sends through.
async fn spawn(engine: Engine, test: &str) -> Option<(TestApp, VonageApi)> {
    let api = VonageApi::start(API_KEY, API_SECRET).await;
    let base = api.base_url();
    let opts = Options {
        tweak: Box::new(move |s| vonage_settings(s, base)),
        ..Options::default()
    };
    let app = TestApp::spawn_with(engine, test, opts).await?;
    Some((app, api))
}

/// The server's time in seconds: what Vonage's clock would say.
fn now_secs(app: &TestApp) -> i64 {
    app.state().clock.now_ms() / 1000
}

/// The claims Vonage puts in a webhook's token for `body`.
fn claims(body: &str, iat: i64, jti: &str) -> Value {
    json!({
        "iat": iat,
        "jti": jti,
        "iss": "Vonage",
        "payload_hash": hex::encode(Sha256::digest(body.as_bytes())),
        "api_key": API_KEY,
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    })
}

/// `Bearer <JWT>`: HS256 over `base64url(header).base64url(claims)`.
fn bearer(secret: &str, claims: &Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signed = format!(
        "{}.{}",
        enc(&json!({"alg": "HS256", "typ": "JWT"})),
        enc(claims)
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("Bearer {signed}.{sig}")
}

/// A fresh token for `body`, signed now with the account's secret.
fn fresh(app: &TestApp, body: &str) -> String {
    let jti = uuid::Uuid::new_v4().to_string();
    bearer(SECRET, &claims(body, now_secs(app), &jti))
}

/// Sends a request with the given Authorization (if any).
async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path_and_query: &str,
    content_type: Option<&str>,
    body: &str,
    authorization: Option<String>,
) -> reqwest::Response {
    let mut req = app
        .client
        .request(method, app.url(path_and_query))
        .body(body.to_string());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(auth) = authorization {
        req = req.header("authorization", auth);
    }
    req.send().await.expect("webhook request")
}

/// POSTs JSON signed now.
async fn post_signed(app: &TestApp, path: &str, body: &str) -> reqwest::Response {
    let auth = fresh(app, body);
    send(
        app,
        reqwest::Method::POST,
        path,
        Some(JSON),
        body,
        Some(auth),
    )
    .await
}

/// GETs with a query, signed now (over the empty body).
async fn get_signed(app: &TestApp, path: &str, query: &str) -> reqwest::Response {
    let auth = fresh(app, "");
    let url = format!("{path}?{query}");
    send(app, reqwest::Method::GET, &url, None, "", Some(auth)).await
}

fn call_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The answer webhook's parameters, numbers without `+` as Vonage sends.
fn answer_params(uuid: &str, from: &str) -> Vec<(&'static str, String)> {
    vec![
        ("from", from.trim_start_matches('+').to_string()),
        ("to", "18005550100".to_string()),
        ("uuid", uuid.to_string()),
        ("conversation_uuid", format!("CON-{uuid}")),
        ("region_url", "https://api-us-3.vonage.com".to_string()),
    ]
}

fn answer_query(uuid: &str, from: &str) -> String {
    serde_urlencoded::to_string(answer_params(uuid, from)).unwrap()
}

fn answer_json(uuid: &str, from: &str) -> String {
    let map: serde_json::Map<String, Value> = answer_params(uuid, from)
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect();
    Value::Object(map).to_string()
}

fn input_json(uuid: &str, digits: &str) -> String {
    json!({
        "speech": {"results": []},
        "dtmf": {"digits": digits, "timed_out": digits.is_empty()},
        "from": "14155550123", "to": "18005550100",
        "uuid": uuid, "conversation_uuid": format!("CON-{uuid}"),
        "timestamp": "2026-12-01T10:00:00.000Z",
    })
    .to_string()
}

fn event_json(uuid: &str, status: &str) -> String {
    json!({
        "from": "14155550100", "to": "18005550100", "uuid": uuid,
        "conversation_uuid": format!("CON-{uuid}"), "status": status,
        "direction": "inbound", "timestamp": "2026-12-01T10:00:00.000Z",
    })
    .to_string()
}

/// An SMS API delivery receipt (POST-JSON) for `message_id`.
fn receipt_json(message_id: &str, status: &str, err_code: &str) -> String {
    json!({
        "msisdn": "14155550199", "to": "18005550122", "network-code": "310090",
        "messageId": message_id, "price": "0.00570000", "status": status,
        "scts": "2612011000", "err-code": err_code, "api-key": API_KEY,
        "message-timestamp": "2026-12-01 10:00:00",
    })
    .to_string()
}

/// A delivery receipt form signed the SMS API's way: `sig` = hex
/// HMAC-SHA256 of the parameters sorted by name as `&name=value` (`&` and
/// `=` in values as `_`), with a `timestamp`.
fn sms_signed_form(secret: &str, params: &[(&str, &str)], timestamp: i64) -> String {
    let ts = timestamp.to_string();
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.push(("timestamp", &ts));
    all.sort();
    let text: String = all
        .iter()
        .map(|(k, v)| format!("&{k}={}", v.replace(['&', '='], "_")))
        .collect();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    all.push(("sig", &sig));
    serde_urlencoded::to_string(&all).unwrap()
}

/// A receipt's parameters as the SMS API sends them.
fn receipt_params<'a>(
    message_id: &'a str,
    status: &'a str,
    err: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("msisdn", "14155550199"),
        ("to", "18005550122"),
        ("network-code", "310090"),
        ("messageId", message_id),
        ("price", "0.00570000"),
        ("status", status),
        ("scts", "2612011000"),
        ("err-code", err),
        ("api-key", API_KEY),
        ("message-timestamp", "2026-12-01 10:00:00"),
    ]
}
