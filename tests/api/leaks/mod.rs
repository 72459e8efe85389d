//! The leak canary (DESIGN: "No PIN, pepper, token or provider secret ever
//! appears in a log line, an audit event, an API answer, an error or the
//! database in clear").
//!
//! Real flows run against the real server with known secrets: PINs by email
//! (wrong, mistyped and right) and by SMS, a resend, a trusted-number
//! grant, introspection, revocation, a forged webhook and failed
//! authentication. Every secret seen on the way is a canary; the test then
//! searches every log line of the process, every API answer, the audit
//! export (JSONL and CSV) and a dump of every column of every table.

mod canary;
mod dump;
mod pins;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::app::{ACCOUNT_SID, TestApp};

/// Ten digits: a canary that cannot turn up by chance inside a timestamp,
/// an id or a hash (a six-digit PIN would, now and then).
const PIN_LEN: usize = 10;
const WAIT: Duration = Duration::from_secs(20);

/// A secret the test knows, by name.
struct Canary {
    name: String,
    value: Vec<u8>,
}

#[derive(Default)]
struct Canaries(Vec<Canary>);

impl Canaries {
    fn add(&mut self, name: impl Into<String>, value: impl AsRef<[u8]>) {
        let value = value.as_ref().to_vec();
        assert!(
            value.len() >= 10,
            "a canary this short would match by chance"
        );
        self.0.push(Canary {
            name: name.into(),
            value,
        });
    }

    /// Every canary found in `haystack`, with some context, as messages.
    fn find_in(&self, place: &str, haystack: &[u8], except: Option<&[u8]>) -> Vec<String> {
        let mut found = Vec::new();
        for c in &self.0 {
            if except == Some(c.value.as_slice()) {
                continue;
            }
            if let Some(at) = find(haystack, &c.value) {
                let from = at.saturating_sub(120);
                let to = (at + c.value.len() + 120).min(haystack.len());
                found.push(format!(
                    "{} found in {place}: ...{}...",
                    c.name,
                    String::from_utf8_lossy(&haystack[from..to])
                ));
            }
        }
        found
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    find(haystack, needle.as_bytes()).is_some()
}

/// One answer the server gave: status line, headers and body as received.
struct Answer {
    what: String,
    text: String,
    /// The one secret this answer exists to hand over (a new grant token).
    may_contain: Option<String>,
}

/// Talks to the app and keeps every answer for the search.
struct Client<'a> {
    app: &'a TestApp,
    answers: Vec<Answer>,
}

impl<'a> Client<'a> {
    fn new(app: &'a TestApp) -> Self {
        Client {
            app,
            answers: Vec::new(),
        }
    }

    async fn record(&mut self, what: String, resp: reqwest::Response) -> (StatusCode, String) {
        let status = resp.status();
        let mut text = format!("{status}\n");
        for (name, value) in resp.headers() {
            text.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        let body = resp.text().await.expect("answer body");
        text.push('\n');
        text.push_str(&body);
        self.answers.push(Answer {
            what,
            text,
            may_contain: None,
        });
        (status, body)
    }

    fn json(body: &str) -> Value {
        serde_json::from_str(body).unwrap_or(Value::String(body.to_string()))
    }

    async fn get(&mut self, token: &str, path: &str) -> (StatusCode, Value) {
        let resp = self.app.get_raw(token, path).await;
        let (status, body) = self.record(format!("GET {path}"), resp).await;
        (status, Self::json(&body))
    }

    async fn get_text(&mut self, token: &str, path: &str) -> (StatusCode, String) {
        let resp = self.app.get_raw(token, path).await;
        self.record(format!("GET {path}"), resp).await
    }

    /// Posts `body` as it is written (it may be JSON a client got wrong).
    async fn post_raw(&mut self, token: &str, path: &str, body: String) -> (StatusCode, Value) {
        let resp = self
            .app
            .client
            .post(self.app.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let (status, body) = self.record(format!("POST {path}"), resp).await;
        (status, Self::json(&body))
    }

    async fn post(&mut self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_raw(token, path, body.to_string()).await
    }

    /// Marks the last answer as the one that hands `token` over.
    fn last_hands_over(&mut self, token: &str) {
        self.answers.last_mut().expect("an answer").may_contain = Some(token.to_string());
    }

    async fn webhook(&mut self, path: &str, params: &[(&str, &str)]) -> (StatusCode, String) {
        let resp = self.app.webhook(path, params).await;
        self.record(format!("webhook {path}"), resp).await
    }

    async fn call(&mut self, sid: &str, from: &str, attestation: &str) -> String {
        let (status, twiml) = self
            .webhook(
                "/webhooks/twilio/voice",
                &[
                    ("CallSid", sid),
                    ("AccountSid", ACCOUNT_SID),
                    ("From", from),
                    ("To", "+18005550100"),
                    ("CallStatus", "ringing"),
                    ("Direction", "inbound"),
                    ("StirVerstat", attestation),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{twiml}");
        twiml
    }

    async fn call_id_for(&mut self, sid: &str) -> String {
        let token = self.app.agent_token.clone();
        let (status, body) = self
            .get(&token, &format!("/v1/calls?provider_call_id={sid}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"][0]["call_id"]
            .as_str()
            .expect("call listed")
            .to_string()
    }

    async fn end_call(&mut self, sid: &str) {
        let (status, body) = self
            .webhook(
                "/webhooks/twilio/status",
                &[
                    ("CallSid", sid),
                    ("AccountSid", ACCOUNT_SID),
                    ("From", "+14155550123"),
                    ("To", "+18005550100"),
                    ("CallStatus", "completed"),
                ],
            )
            .await;
        assert!(status.is_success(), "{status} {body}");
    }
}

/// A ten-digit guess that is not `pin`.
fn wrong_guess(pin: &str) -> String {
    loop {
        let n = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
        let guess = format!("{n:010}");
        if guess != pin {
            return guess;
        }
    }
}
