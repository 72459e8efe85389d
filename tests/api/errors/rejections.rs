//! Requests the framework would refuse in its own words (a path that is not
//! UTF-8, a query of the wrong type, an unknown JSON field, a JSON array
//! where an object belongs) are answered as problem+json in ours, naming
//! the field; pages end with `next: null`; request ids are bounded.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::expect_problem;
use crate::support::app::{Engine, TestApp};

/// Parser and framework phrases that must not reach a client.
const FOREIGN: &[&str] = &[
    "Invalid URL",
    "Failed to deserialize",
    "line 1 column",
    "TOML",
    "table",
    "expected struct",
    "i64",
    "usize",
];

fn field_error(body: &Value, field: &str) -> String {
    let text = body.to_string();
    for phrase in FOREIGN {
        assert!(!text.contains(phrase), "{phrase:?} in {text}");
    }
    assert_eq!(body["errors"][0]["field"], field, "{body}");
    body["errors"][0]["message"]
        .as_str()
        .expect("message")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_rejections_are_problem_json_naming_the_field() {
    let app = TestApp::spawn(Engine::Sqlite, "framework_rejections_are_problem_json")
        .await
        .expect("sqlite");
    app.import_contoso().await;
    let call_id = super::pin_required_call(&app).await;

    let resp = app.get_raw(&app.agent_token, "/v1/calls/%ff").await;
    let body = expect_problem(resp, StatusCode::BAD_REQUEST).await;
    let message = field_error(&body, "call_id");
    assert!(message.contains("UTF-8"), "{message}");

    let resp = app.get_raw(&app.agent_token, "/v1/calls?limit=abc").await;
    let body = expect_problem(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(field_error(&body, "limit"), "must be a whole number");

    let resp = app
        .post_raw(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": "email", "destination": "attacker@example.com"}),
        )
        .await;
    let body = expect_problem(resp, StatusCode::BAD_REQUEST).await;
    let message = field_error(&body, "destination");
    assert!(message.contains("not a field"), "{message}");
    assert!(!body.to_string().contains("attacker@"), "{body}");

    let resp = app
        .post_raw(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": 7}),
        )
        .await;
    let body = expect_problem(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        field_error(&body, "channel"),
        "must be a string, got integer"
    );

    let resp = app
        .post_raw(&app.admin_token, "/v1/orgs", json!([{"id": "contoso"}]))
        .await;
    let body = expect_problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    let message = field_error(&body, "body");
    assert!(message.contains("object"), "{message}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_holding_the_last_item_has_no_next() {
    let app = TestApp::spawn(Engine::Sqlite, "a_page_holding_the_last_item_has_no_next")
        .await
        .expect("sqlite");
    app.import_contoso().await;
    super::pin_required_call(&app).await;
    let (status, calls) = app.get(&app.agent_token, "/v1/calls?limit=1").await;
    assert_eq!(status, StatusCode::OK, "{calls}");
    assert_eq!(calls["items"].as_array().unwrap().len(), 1, "{calls}");
    assert!(calls["next"].is_null(), "one call, one page: {calls}");
    let (_, orgs) = app.get(&app.admin_token, "/v1/orgs?limit=1").await;
    assert_eq!(orgs["items"].as_array().unwrap().len(), 1, "{orgs}");
    assert!(orgs["next"].is_null(), "{orgs}");
    // Two calls, limit 1: a next page exists and holds the other.
    super::pin_required_call(&app).await;
    let (_, first) = app.get(&app.agent_token, "/v1/calls?limit=1").await;
    let cursor = first["next"].as_str().expect("a cursor").to_string();
    let (_, second) = app
        .get(
            &app.agent_token,
            &format!("/v1/calls?limit=1&cursor={cursor}"),
        )
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1, "{second}");
    assert_ne!(first["items"][0]["call_id"], second["items"][0]["call_id"]);
    assert!(second["next"].is_null(), "{second}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlong_request_id_is_replaced_and_a_plain_one_echoed() {
    let app = TestApp::spawn(Engine::Sqlite, "an_overlong_request_id_is_replaced")
        .await
        .expect("sqlite");
    let echoed = |id: String| {
        let c = app.client.clone();
        let url = app.url("/healthz");
        async move {
            let resp = c.get(url).header("x-request-id", id).send().await.unwrap();
            resp.headers()["x-request-id"].to_str().unwrap().to_string()
        }
    };
    let long = "a".repeat(5_000);
    let got = echoed(long.clone()).await;
    assert!(got.len() <= 128 && !got.is_empty(), "{} chars", got.len());
    let plain = "req-7f3a9c".to_string();
    assert_eq!(echoed(plain.clone()).await, plain);
    app.shutdown().await;
}
