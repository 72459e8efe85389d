//! Requests the server cannot take: unknown routes and wrong methods,
//! malformed JSON and wrong content types, bodies over the limit, and
//! requests that time out.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::app::{Engine, Options, TestApp, call_sid};

use super::{assert_problem_text, expect_problem, pin_required_call};

async fn raw_post(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request")
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_route_and_wrong_method_answer_problem_json() {
    let app = TestApp::spawn(Engine::Sqlite, "unknown_route_and_wrong_method")
        .await
        .expect("sqlite");
    for path in [
        "/nope",
        "/v1/nope",
        "/v1/calls/x/y/z",
        "/webhooks/twilio/nope",
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        let body = expect_problem(resp, StatusCode::NOT_FOUND).await;
        assert_eq!(body["type"], "urn:pingate:problem:not-found", "{path}");
        // Authenticated, an unknown route is still 404, not 401/403.
        let resp = app
            .client
            .get(app.url(path))
            .bearer_auth(&app.agent_token)
            .send()
            .await
            .unwrap();
        expect_problem(resp, StatusCode::NOT_FOUND).await;
    }

    for (method, path) in [
        (reqwest::Method::GET, "/webhooks/twilio/voice"),
        (reqwest::Method::PUT, "/webhooks/twilio/status"),
        (reqwest::Method::DELETE, "/v1/calls"),
        (reqwest::Method::GET, "/v1/grants/introspect"),
        (reqwest::Method::POST, "/healthz"),
    ] {
        let resp = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&app.agent_token)
            .send()
            .await
            .unwrap();
        let allow = resp
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string());
        let body = expect_problem(resp, StatusCode::METHOD_NOT_ALLOWED).await;
        let allow = allow.unwrap_or_else(|| panic!("{method} {path}: 405 without Allow"));
        assert!(!allow.contains(method.as_str()), "{allow}");
        assert_eq!(
            body["type"], "urn:pingate:problem:method-not-allowed",
            "{method} {path}"
        );
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_and_wrong_content_type_is_415() {
    let app = TestApp::spawn(Engine::Sqlite, "malformed_json_400_wrong_type_415")
        .await
        .expect("sqlite");
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let path = format!("/v1/calls/{call_id}/challenges");

    for broken in [
        "{",
        "{\"channel\": }",
        "[1,2",
        "not json",
        "{\"channel\": \"email\"} trailing",
    ] {
        let resp = raw_post(
            &app,
            Some(&app.agent_token),
            &path,
            "application/json",
            broken,
        )
        .await;
        let body = expect_problem(resp, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["type"], "urn:pingate:problem:bad-request", "{broken}");
    }
    // Valid JSON of the wrong shape is refused too, and not as a 500.
    for wrong_shape in ["[]", "\"email\"", "{\"channel\": 7}", "{}"] {
        let resp = raw_post(
            &app,
            Some(&app.agent_token),
            &path,
            "application/json",
            wrong_shape,
        )
        .await;
        let status = resp.status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{wrong_shape}: {status}"
        );
        expect_problem(resp, status).await;
    }

    for ctype in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let resp = raw_post(
            &app,
            Some(&app.agent_token),
            &path,
            ctype,
            r#"{"channel": "email"}"#,
        )
        .await;
        let body = expect_problem(resp, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        assert_eq!(
            body["type"], "urn:pingate:problem:unsupported-media-type",
            "{ctype}"
        );
    }
    // None of that created a challenge.
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["challenges"], json!([]), "{call}");

    // The same on the other routes with a body.
    let challenge_id = app.challenge(&call_id, "email").await;
    for path in [
        format!("/v1/challenges/{challenge_id}/resend"),
        format!("/v1/challenges/{challenge_id}/check"),
        "/v1/grants/introspect".to_string(),
    ] {
        let resp = raw_post(&app, Some(&app.agent_token), &path, "application/json", "{").await;
        expect_problem(resp, StatusCode::BAD_REQUEST).await;
    }
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
        .await;
    assert_eq!(ch["sends"], 1, "{ch}");
    assert_eq!(ch["attempts_left"], app.settings.pin.max_attempts, "{ch}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_is_413_on_the_api_and_on_webhooks() {
    let app = TestApp::spawn_with(
        Engine::Sqlite,
        "body_over_the_limit_is_413",
        Options {
            tweak: Box::new(|s| s.server.max_body_bytes = 1024),
            ..Options::default()
        },
    )
    .await
    .expect("sqlite");
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;

    let padding = "x".repeat(4096);
    let big_json = json!({ "channel": "email", "padding": padding }).to_string();
    let resp = raw_post(
        &app,
        Some(&app.agent_token),
        &format!("/v1/calls/{call_id}/challenges"),
        "application/json",
        big_json.clone(),
    )
    .await;
    let body = expect_problem(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["type"], "urn:pingate:problem:payload-too-large");

    let resp = raw_post(
        &app,
        Some(&app.agent_token),
        "/v1/grants/introspect",
        "application/json",
        big_json.clone(),
    )
    .await;
    expect_problem(resp, StatusCode::PAYLOAD_TOO_LARGE).await;

    // Every body-reading route, whatever extractor it uses.
    let challenge_id = app.challenge(&call_id, "email").await;
    for path in [
        format!("/v1/challenges/{challenge_id}/resend"),
        format!("/v1/challenges/{challenge_id}/check"),
        format!("/v1/calls/{call_id}/org"),
    ] {
        let resp = raw_post(
            &app,
            Some(&app.agent_token),
            &path,
            "application/json",
            big_json.clone(),
        )
        .await;
        expect_problem(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let resp = raw_post(
        &app,
        Some(&app.admin_token),
        "/v1/orgs",
        "application/json",
        big_json.clone(),
    )
    .await;
    expect_problem(resp, StatusCode::PAYLOAD_TOO_LARGE).await;

    // A webhook: the body limit applies before the signature is checked,
    // and a signed oversized call is refused as well.
    let sid = call_sid();
    let params = [
        ("CallSid", sid.as_str()),
        ("AccountSid", crate::support::app::ACCOUNT_SID),
        ("From", "+14155550123"),
        ("To", "+18005550100"),
        ("Padding", padding.as_str()),
    ];
    let resp = app.webhook("/webhooks/twilio/voice", &params).await;
    let body = expect_problem(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["type"], "urn:pingate:problem:payload-too-large");
    let (_, list) = app
        .get(
            &app.agent_token,
            &format!("/v1/calls?provider_call_id={sid}"),
        )
        .await;
    assert_eq!(
        list["items"],
        json!([]),
        "an oversized webhook records no call"
    );

    // Just under the limit still works.
    let sid = call_sid();
    app.call(&sid, "+14155550123", None).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_times_out_answers_408_problem_json() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(
        Engine::Sqlite,
        "request_timeout_408",
        Options {
            tweak: Box::new(|s| {
                s.server.request_timeout =
                    pingate::config::HumanDuration(Duration::from_millis(300))
            }),
            ..Options::default()
        },
    )
    .await
    .expect("sqlite");
    let addr = app.base.trim_start_matches("http://").to_string();
    // The body never arrives in full.
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/grants/introspect HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        app.agent_token
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(20), conn.read(&mut buf))
            .await
            .expect("the server answers before the client gives up")
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((_, body)) = text.split_once("\r\n\r\n")
            && body.contains('}')
        {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    assert_problem_text(&ctype, body, StatusCode::REQUEST_TIMEOUT);
    app.shutdown().await;
}
