//! What every provider's refusal tests check: a refused webhook answers
//! 403 with the bad-signature problem and adds exactly one audit event by
//! that provider, and nothing refused records a call.

use reqwest::StatusCode;

use super::app::TestApp;
use crate::errors::expect_problem;

pub const REFUSED: &str = "authn_webhook_signature_fail";

/// How many calls the server has recorded.
pub async fn calls_recorded(app: &TestApp) -> usize {
    let (status, v) = app.get(&app.agent_token, "/v1/calls?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().len()
}

/// `resp` is a 403 bad-signature problem and the `seen + 1`th refusal
/// audited, by `provider:{provider}`; counts it.
pub async fn refused_once(
    app: &TestApp,
    provider: &str,
    resp: reqwest::Response,
    seen: &mut usize,
    why: &str,
) {
    let problem = expect_problem(resp, StatusCode::FORBIDDEN).await;
    assert!(
        problem["type"].as_str().unwrap().ends_with("bad-signature"),
        "{why}: {problem}"
    );
    let events = app.events(REFUSED).await;
    assert_eq!(
        events.len(),
        *seen + 1,
        "{why}: one audit event each: {events:#?}"
    );
    assert_eq!(events[0]["actor"], format!("provider:{provider}"), "{why}");
    *seen += 1;
}
