//! What every provider's refusal tests check: an unsigned, forged or
//! replayed webhook answers 403 `bad-signature` and leaves exactly one
//! audit event, by the provider, and no call is recorded.

use reqwest::StatusCode;

use super::app::TestApp;
use crate::errors::expect_problem;

pub const REFUSED: &str = "authn_webhook_signature_fail";

/// How many calls the server recorded.
pub async fn calls_recorded(app: &TestApp) -> usize {
    let (status, v) = app.get(&app.agent_token, "/v1/calls?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().len()
}

/// Refusals counted one by one, each with its own audit event.
pub struct Refusals {
    actor: &'static str,
    seen: usize,
}

impl Refusals {
    /// `actor` is the audit actor of the provider's refusals
    /// (`provider:<name>`).
    pub fn new(actor: &'static str) -> Refusals {
        Refusals { actor, seen: 0 }
    }

    /// `resp` is a 403 `bad-signature` and added exactly one audit event.
    pub async fn expect(&mut self, app: &TestApp, resp: reqwest::Response, why: &str) {
        let problem = expect_problem(resp, StatusCode::FORBIDDEN).await;
        assert!(
            problem["type"].as_str().unwrap().ends_with("bad-signature"),
            "{why}: {problem}"
        );
        let events = app.events(REFUSED).await;
        assert_eq!(
            events.len(),
            self.seen + 1,
            "{why}: one audit event each: {events:#?}"
        );
        assert_eq!(events[0]["actor"], self.actor, "{why}");
        self.seen += 1;
    }
}

/// A provider without its secret: each `(path, response)` is a 503 whose
/// detail names `key`, nothing was audited as a refusal, and the settings
/// (what `config check` and `serve` print) warn that `key` is not set.
pub async fn not_configured(app: &TestApp, responses: Vec<(&str, reqwest::Response)>, key: &str) {
    for (path, resp) in responses {
        let problem = expect_problem(resp, StatusCode::SERVICE_UNAVAILABLE).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(key),
            "{path}: {problem}"
        );
    }
    assert!(app.events(REFUSED).await.is_empty());
    let warnings = app.settings.warnings();
    let expected = format!("{key} is not set");
    assert!(
        warnings.iter().any(|w| w.contains(&expected)),
        "{warnings:#?}"
    );
}
