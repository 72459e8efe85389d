//! Error answers: every one is `application/problem+json` with a stable
//! `type`, the right status, and nothing internal (no stack trace, no SQL);
//! and the PIN lifecycle's refusals (expired, locked, over quota) answer
//! with the state the agent needs.

mod answers;
mod pin_lifecycle;
mod rejections;
mod requests;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::app::TestApp;

pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// Words that must never reach a client: they would mean an internal error,
/// a query or a backtrace leaked into an answer.
const INTERNALS: &[&str] = &[
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "DELETE FROM",
    "sqlx",
    "sqlite",
    "postgres",
    "panicked",
    "backtrace",
    "stack backtrace",
    ".rs:",
    "src/",
    "RUST_BACKTRACE",
];

/// Asserts `resp` is a problem document with `status` and returns its JSON
/// (the `type` is checked to be one of pingate's stable URNs).
pub(crate) async fn expect_problem(resp: reqwest::Response, status: StatusCode) -> Value {
    let got = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "status of {text}");
    assert_problem_text(&ctype, &text, status)
}

/// The checks of [`expect_problem`] on an answer already read.
pub(crate) fn assert_problem_text(ctype: &str, text: &str, status: StatusCode) -> Value {
    assert!(
        ctype.starts_with(PROBLEM_JSON),
        "content type {ctype:?} for {status}: {text}"
    );
    for word in INTERNALS {
        assert!(
            !text
                .to_ascii_lowercase()
                .contains(&word.to_ascii_lowercase()),
            "{word:?} leaked into an error answer: {text}"
        );
    }
    let body: Value = serde_json::from_str(text).expect("problem+json is JSON");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    let kind = body["type"].as_str().expect("type");
    assert!(kind.starts_with("urn:pingate:problem:"), "{body}");
    assert!(body["title"].is_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

/// Every audit event of `kind`, following the cursor.
pub(crate) async fn audit_events(app: &TestApp, kind: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0i64;
    loop {
        let (status, page) = app
            .get(
                &app.reviewer_token,
                &format!("/v1/audit?kind={kind}&limit=1000&after_seq={after}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().expect("items").clone();
        all.extend(items);
        match page["next"].as_i64() {
            Some(next) => after = next,
            None => return all,
        }
    }
}

/// The number of events in the whole audit chain.
pub(crate) async fn audit_len(app: &TestApp) -> i64 {
    let (status, v) = app.get(&app.reviewer_token, "/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    v["events"].as_i64().expect("events")
}

/// A call's state without the delivery of its messages, which the outbox
/// worker moves on its own schedule.
pub(crate) fn without_delivery(mut call: Value) -> Value {
    if let Some(challenges) = call["challenges"].as_array_mut() {
        for ch in challenges {
            ch.as_object_mut().expect("challenge").remove("delivery");
        }
    }
    call.as_object_mut().expect("call").remove("notices");
    call
}

/// A call from a number registered to contoso without full attestation:
/// the org is known and a PIN is required. Returns the call id.
pub(crate) async fn pin_required_call(app: &TestApp) -> String {
    app.new_call("+14155550100", Some("TN-Validation-Passed-B"))
        .await
}
