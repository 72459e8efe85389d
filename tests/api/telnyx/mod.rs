//! Telnyx against the running server: TeXML calls and Messaging API v2
//! events signed with Ed25519 by this module's own signer (ed25519-dalek
//! over `timestamp|body`, never pingate's code), SMS through an imitation
//! of the Messaging API (`support::telnyx_api`). The whole flow, and every
//! unsigned, forged, stale or replayed request refused and audited once.

mod flow;
mod refusals;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey};
use pingate::config::{Secret, Settings, SmsTransport};

use crate::support::app::{Engine, Options, TestApp};
use crate::support::telnyx_api::TelnyxApi;

const VOICE: &str = "/webhooks/telnyx/voice";
const GATHER: &str = "/webhooks/telnyx/gather";
const STATUS: &str = "/webhooks/telnyx/status";
const MESSAGE_STATUS: &str = "/webhooks/telnyx/message-status";
const FORM: &str = "application/x-www-form-urlencoded";
const API_KEY: &str = "KEY0123456789ABCDEF_test";
const WAIT: Duration = Duration::from_secs(20);

/// The account's key pair (the public half goes in `telnyx.public_key`).
fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[0x5a; 32])
}

fn public_key() -> String {
    BASE64.encode(signing_key().verifying_key().to_bytes())
}

/// Telnyx's settings for a test server, sending SMS through `api`.
fn telnyx_settings(s: &mut Settings, api_base_url: String) {
    s.telnyx.public_key = Some(public_key());
    s.telnyx.api_key = Some(Secret::from(API_KEY));
    s.telnyx.api_base_url = api_base_url;
    s.telnyx.sms_from = Some("+18005550111".into());
    s.sms.transport = SmsTransport::Telnyx;
}

/// A server speaking Telnyx, and the Messaging API it sends SMS through.
async fn spawn(engine: Engine, test: &str) -> Option<(TestApp, TelnyxApi)> {
    let api = TelnyxApi::start(API_KEY).await;
    let base = api.base_url();
    let opts = Options {
        tweak: Box::new(move |s| telnyx_settings(s, base)),
        ..Options::default()
    };
    let app = TestApp::spawn_with(engine, test, opts).await?;
    Some((app, api))
}

/// The server's time in seconds: what Telnyx's clock would say.
fn now_secs(app: &TestApp) -> i64 {
    app.state().clock.now_ms() / 1000
}

/// `telnyx-signature-ed25519` for `timestamp|body`.
fn sign(key: &SigningKey, timestamp: &str, body: &str) -> String {
    let message = format!("{timestamp}|{body}");
    BASE64.encode(key.sign(message.as_bytes()).to_bytes())
}

/// Posts `body` with the given headers.
async fn post_with(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: &str,
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body.to_string());
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.send().await.expect("webhook request")
}

/// Posts `body` signed now by the account's key.
async fn post_signed(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: &str,
) -> reqwest::Response {
    let ts = now_secs(app).to_string();
    let sig = sign(&signing_key(), &ts, body);
    post_with(
        app,
        path,
        content_type,
        body,
        &[("telnyx-signature-ed25519", sig), ("telnyx-timestamp", ts)],
    )
    .await
}

fn form(params: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(params).expect("form")
}

/// A TeXML inbound call body.
fn voice_body(call_sid: &str, from: &str, attestation: Option<(&str, &str)>) -> String {
    let mut params = vec![
        ("AccountSid", "a1b2c3d4-0000-4000-8000-000000000000"),
        ("CallSid", call_sid),
        ("From", from),
        ("To", "+18005550100"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ];
    if let Some((level, validated)) = attestation {
        params.push(("ShakenStirAttestation", level));
        params.push(("ShakenStirValidated", validated));
    }
    form(&params)
}

fn call_sid() -> String {
    format!("v3:{}", uuid::Uuid::new_v4().simple())
}

/// A Messaging API v2 `message.finalized` event for one recipient.
fn message_event(message_id: &str, status: &str, error_code: Option<&str>) -> String {
    let errors: Vec<_> = error_code
        .map(|c| serde_json::json!({"code": c, "title": "Undeliverable"}))
        .into_iter()
        .collect();
    serde_json::json!({
        "data": {
            "event_type": "message.finalized",
            "id": uuid::Uuid::new_v4().to_string(),
            "occurred_at": "2026-12-01T10:00:00.000+00:00",
            "payload": {
                "id": message_id,
                "to": [{"phone_number": "+14155550199", "status": status}],
                "errors": errors,
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1},
    })
    .to_string()
}
