//! Plivo against the running server: Plivo XML calls and message status
//! callbacks signed with `X-Plivo-Signature-V3` by this module's own
//! signer (HMAC-SHA256 written from Plivo's documentation, never pingate's
//! code), SMS through an imitation of the Message API
//! (`support::plivo_api`). The whole flow, and every unsigned, forged or
//! replayed request refused and audited once.

mod flow;
mod refusals;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use pingate::config::{Secret, Settings, SmsTransport};
use sha2::Sha256;

use crate::support::app::{Engine, Options, TestApp};
use crate::support::plivo_api::PlivoApi;

const ANSWER: &str = "/webhooks/plivo/answer";
const INPUT: &str = "/webhooks/plivo/input";
const HANGUP: &str = "/webhooks/plivo/hangup";
const MESSAGE_STATUS: &str = "/webhooks/plivo/message-status";
const FORM: &str = "application/x-www-form-urlencoded";
const AUTH_ID: &str = "MAZDQ1ZJIYMDZKMMZKYM";
const AUTH_TOKEN: &str = "ZDZlNzI4ZDliOGNhYjAyNjMxNjIzZjc3NTcwNDU3";
const WAIT: Duration = Duration::from_secs(20);

/// Plivo's settings for a test server, sending SMS through `api`.
fn plivo_settings(s: &mut Settings, api_base_url: String) {
    s.plivo.auth_id = Some(AUTH_ID.into());
    s.plivo.auth_token = Some(Secret::from(AUTH_TOKEN));
    s.plivo.api_base_url = api_base_url;
    s.plivo.sms_from = Some("+18005550112".into());
    s.sms.transport = SmsTransport::Plivo;
}

/// A server speaking Plivo, and the Message API it sends SMS through.
async fn spawn(engine: Engine, test: &str) -> Option<(TestApp, PlivoApi)> {
    let api = PlivoApi::start(AUTH_ID, AUTH_TOKEN).await;
    let base = api.base_url();
    let opts = Options {
        tweak: Box::new(move |s| plivo_settings(s, base)),
        ..Options::default()
    };
    let app = TestApp::spawn_with(engine, test, opts).await?;
    Some((app, api))
}

/// `X-Plivo-Signature-V3` of a form POST to `url` (query values plain, as
/// pingate's own step URLs are): HMAC-SHA256 with the token over the URL
/// without query, `?`, the sorted query as `k=v&…`, a `.` when both query
/// and params exist, the sorted params as `kv…`, then `.` and the nonce.
fn sign(token: &str, url: &str, params: &[(&str, &str)], nonce: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut query: Vec<&str> = query.split('&').filter(|q| !q.is_empty()).collect();
    query.sort_unstable();
    let mut params = params.to_vec();
    params.sort_unstable();
    let mut text = base.to_string();
    if !query.is_empty() || !params.is_empty() {
        text = format!("{text}?{}", query.join("&"));
    }
    if !query.is_empty() && !params.is_empty() {
        text.push('.');
    }
    for (k, v) in params {
        text.push_str(k);
        text.push_str(v);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(format!("{text}.{nonce}").as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// A fresh nonce, as Plivo sends: 20 digits.
fn nonce() -> String {
    format!("{:020}", uuid::Uuid::new_v4().as_u128() % 10u128.pow(20))
}

/// Posts `params` as a form with the given headers.
async fn post_with(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", FORM)
        .body(serde_urlencoded::to_string(params).expect("form"));
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.send().await.expect("webhook request")
}

/// The two signature headers for `params` posted to `path`.
fn signed_headers(
    app: &TestApp,
    token: &str,
    path: &str,
    params: &[(&str, &str)],
    nonce: &str,
) -> Vec<(&'static str, String)> {
    vec![
        (
            "X-Plivo-Signature-V3",
            sign(token, &app.url(path), params, nonce),
        ),
        ("X-Plivo-Signature-V3-Nonce", nonce.to_string()),
    ]
}

/// Posts `params` to `path` signed by the account's token, with a new nonce.
async fn post_signed(app: &TestApp, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
    let headers = signed_headers(app, AUTH_TOKEN, path, params, &nonce());
    post_with(app, path, params, &headers).await
}

/// An answer URL callback: numbers without `+`, as Plivo sends them.
fn answer_params<'a>(call_uuid: &'a str, from: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CallUUID", call_uuid),
        ("From", from),
        ("To", "18005550100"),
        ("Direction", "inbound"),
        ("CallStatus", "ringing"),
        ("Event", "StartApp"),
    ]
}

fn call_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
