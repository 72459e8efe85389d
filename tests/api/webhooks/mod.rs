//! Twilio's webhooks against the running server: signatures (random
//! inputs, every forgery, port variants, HMAC-SHA256 shared keys, JSON
//! bodies), idempotent calls, caller classification and trust, the IVR, call
//! status (SMS delivery status is in `delivery::reports`). Requests are signed by the independent
//! signer in `support::twilio_signer` (and, for HMAC-SHA256, by the few lines
//! in `signatures`), never by pingate's own code.

mod call_status;
mod calls;
mod forgeries;
mod ivr;
pub(crate) mod lines;
mod signatures;

use reqwest::StatusCode;
use serde_json::Value;

use crate::errors::expect_problem;
use crate::support::app::{ACCOUNT_SID, TestApp};

const VOICE: &str = "/webhooks/twilio/voice";
const GATHER: &str = "/webhooks/twilio/gather";
const STATUS: &str = "/webhooks/twilio/status";
pub(crate) const MESSAGE_STATUS: &str = "/webhooks/twilio/message-status";
const FORM: &str = "application/x-www-form-urlencoded";

/// Posts `body` to `request_url` with the given extra headers.
async fn post_raw(
    app: &TestApp,
    request_url: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(request_url)
        .header("content-type", content_type)
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("webhook request")
}

fn voice_params<'a>(sid: &'a str, from: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CallSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("To", "+18005550100"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ]
}

async fn calls_for(app: &TestApp, sid: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &app.agent_token,
            &format!("/v1/calls?provider_call_id={sid}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

async fn all_calls(app: &TestApp) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = "/v1/calls?limit=200".to_string();
    loop {
        let (status, body) = app.get(&app.agent_token, &path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        all.extend(body["items"].as_array().expect("items").iter().cloned());
        match body["next"].as_str() {
            Some(next) => path = format!("/v1/calls?limit=200&cursor={next}"),
            None => return all,
        }
    }
}

pub(crate) async fn call_view(app: &TestApp, call_id: &str) -> Value {
    let (status, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    call
}

async fn expect_twiml(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), StatusCode::OK);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/xml"), "{ctype}");
    let text = resp.text().await.unwrap();
    assert!(text.contains("<Response>"), "{text}");
    text
}

async fn expect_forbidden(resp: reqwest::Response, what: &str) {
    let status = resp.status();
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
    let body = expect_problem(resp, StatusCode::FORBIDDEN).await;
    assert_eq!(
        body["type"], "urn:pingate:problem:bad-signature",
        "{what}: {body}"
    );
}

async fn gather(app: &TestApp, sid: &str, digits: &str) -> String {
    expect_twiml(
        app.webhook(GATHER, &[("CallSid", sid), ("Digits", digits)])
            .await,
    )
    .await
}
