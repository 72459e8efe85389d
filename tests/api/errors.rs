//! Error answers: every one is `application/problem+json` with a stable
//! `type`, the right status, and nothing internal (no stack trace, no SQL);
//! and the PIN lifecycle's refusals (expired, locked, over quota) answer
//! with the state the agent needs.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, call_sid, split};

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
    let sid = call_sid();
    app.call(&sid, "+14155550100", Some("TN-Validation-Passed-B"))
        .await;
    app.call_id_for(&sid).await
}

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

async fn new_challenge(app: &TestApp, call_id: &str, channel: &str) -> (StatusCode, Value) {
    app.post(
        &app.agent_token,
        &format!("/v1/calls/{call_id}/challenges"),
        json!({ "channel": channel }),
    )
    .await
}

async fn check(app: &TestApp, challenge_id: &str, pin: &str) -> (StatusCode, Value) {
    app.post(
        &app.agent_token,
        &format!("/v1/challenges/{challenge_id}/check"),
        json!({ "pin": pin }),
    )
    .await
}

/// A PIN of the right length that is not `pin`.
fn wrong_pin(pin: &str) -> String {
    pin.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
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
    let (status, ch) = new_challenge(&app, &call_id, "email").await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let challenge_id = ch["challenge_id"].as_str().unwrap();
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
    let (status, ch) = new_challenge(&app, &call_id, "email").await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let challenge_id = ch["challenge_id"].as_str().unwrap();
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

async fn invalid_channel_is_422_naming_the_field(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_toml(
        r#"
[[org]]
id = "emailonly"
name = "Email Only Ltd"
account_number = "50012345"
registered_numbers = ["+14155550111"]
channels = ["email"]
[org.contacts]
email = "it@emailonly.example"
"#,
    )
    .await;
    let sid = call_sid();
    app.call(&sid, "+14155550111", None).await;
    let call_id = app.call_id_for(&sid).await;

    // Unknown channel names, and a channel this org does not accept.
    for channel in ["carrier-pigeon", "EMAIL ", "", "sms"] {
        let resp = app
            .client
            .post(app.url(&format!("/v1/calls/{call_id}/challenges")))
            .bearer_auth(&app.agent_token)
            .json(&json!({ "channel": channel }))
            .send()
            .await
            .unwrap();
        let body = expect_problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["type"], "urn:pingate:problem:validation", "{body}");
        assert_eq!(body["errors"][0]["field"], "channel", "{channel:?}: {body}");
    }
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["challenges"], json!([]), "{call}");
    app.shutdown().await;
}
on_both_engines!(
    invalid_channel_is_422_naming_the_field,
    invalid_channel_is_422_naming_the_field
);

async fn malformed_pin_is_422_and_consumes_no_attempt(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let (status, ch) = new_challenge(&app, &call_id, "email").await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let id = ch["challenge_id"].as_str().unwrap().to_string();
    let len = app.settings.pin.length;

    for bad in [
        "1".repeat(len - 1),
        "1".repeat(len + 1),
        String::new(),
        "12a456".to_string(),
        "١٢٣٤٥٦".to_string(),
        " 123456 7".to_string(),
    ] {
        let resp = app
            .client
            .post(app.url(&format!("/v1/challenges/{id}/check")))
            .bearer_auth(&app.agent_token)
            .json(&json!({ "pin": bad }))
            .send()
            .await
            .unwrap();
        let body = expect_problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["field"], "pin", "{bad:?}: {body}");
        assert!(
            !body.to_string().contains(&bad) || bad.is_empty(),
            "the answer echoes the PIN input: {body}"
        );
    }
    // A number instead of a string is malformed, not a check either.
    let (status, _) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{id}/check"),
            json!({ "pin": 123456 }),
        )
        .await;
    assert!(status.is_client_error(), "{status}");

    let (status, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{ch}");
    assert_eq!(ch["status"], "pending", "{ch}");
    assert_eq!(ch["attempts_left"], app.settings.pin.max_attempts, "{ch}");
    assert!(audit_events(&app, "authn_pin_fail").await.is_empty());

    // The real PIN still works afterwards.
    let pin = app.pin_from_email(1).await;
    let (status, r) = check(&app, &id, &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved", "{r}");
    app.shutdown().await;
}
on_both_engines!(
    malformed_pin_is_422_and_consumes_no_attempt,
    malformed_pin_is_422_and_consumes_no_attempt
);

async fn expired_challenge_answers_409_expired(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let (status, ch) = new_challenge(&app, &call_id, "email").await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let id = ch["challenge_id"].as_str().unwrap().to_string();
    let pin = app.pin_from_email(1).await;

    app.clock
        .advance(app.settings.pin.ttl.0 + Duration::from_secs(1));

    // Even the right PIN is refused once the TTL has passed.
    let resp = app
        .client
        .post(app.url(&format!("/v1/challenges/{id}/check")))
        .bearer_auth(&app.agent_token)
        .json(&json!({ "pin": pin }))
        .send()
        .await
        .unwrap();
    let body = expect_problem(resp, StatusCode::CONFLICT).await;
    assert_eq!(body["state"], "expired", "{body}");
    assert!(!body.to_string().contains(&pin));

    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{id}"))
        .await;
    assert_eq!(ch["status"], "expired", "{ch}");
    // A resend cannot revive it.
    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{id}/resend"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    assert_eq!(r["state"], "expired", "{r}");
    assert_eq!(audit_events(&app, "challenge_expired").await.len(), 1);
    app.shutdown().await;
}
on_both_engines!(
    expired_challenge_answers_409_expired,
    expired_challenge_answers_409_expired
);

async fn spent_attempt_budget_locks_the_challenge_and_the_call(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let (status, ch) = new_challenge(&app, &call_id, "email").await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let id = ch["challenge_id"].as_str().unwrap().to_string();
    let pin = app.pin_from_email(1).await;
    let wrong = wrong_pin(&pin);
    let max = i64::from(app.settings.pin.max_attempts);

    for attempt in 1..max {
        let (status, r) = check(&app, &id, &wrong).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(
            r,
            json!({ "status": "pending", "attempts_left": max - attempt })
        );
    }
    let (status, r) = check(&app, &id, &wrong).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "locked", "{r}");

    // The next check, even with the right PIN, is refused without a grant.
    let resp = app
        .client
        .post(app.url(&format!("/v1/challenges/{id}/check")))
        .bearer_auth(&app.agent_token)
        .json(&json!({ "pin": pin }))
        .send()
        .await
        .unwrap();
    let body = expect_problem(resp, StatusCode::CONFLICT).await;
    assert_eq!(body["state"], "locked", "{body}");

    // A new challenge on the same call does not reset the budget.
    let resp = app
        .client
        .post(app.url(&format!("/v1/calls/{call_id}/challenges")))
        .bearer_auth(&app.agent_token)
        .json(&json!({ "channel": "sms" }))
        .send()
        .await
        .unwrap();
    let body = expect_problem(resp, StatusCode::CONFLICT).await;
    assert_eq!(body["state"], "failed", "{body}");

    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["verification"], "failed", "{call}");
    assert_eq!(call["grants"], json!([]), "{call}");
    assert_eq!(call["challenges"].as_array().unwrap().len(), 1, "{call}");
    assert_eq!(audit_events(&app, "authn_pin_lock").await.len(), 1);
    assert_eq!(
        audit_events(&app, "authn_pin_fail").await.len() as i64,
        max - 1
    );
    assert!(audit_events(&app, "grant_issued").await.is_empty());
    app.shutdown().await;
}
on_both_engines!(
    spent_attempt_budget_locks_the_challenge_and_the_call,
    spent_attempt_budget_locks_the_challenge_and_the_call
);

async fn resend_delivers_the_same_pin_then_429_with_retry_after(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let (status, ch) = new_challenge(&app, &call_id, "email").await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let id = ch["challenge_id"].as_str().unwrap().to_string();
    let first = app.pin_from_email(1).await;
    let max_sends = app.settings.pin.max_sends as usize;

    for send in 2..=max_sends {
        let (status, r) = app
            .post(
                &app.agent_token,
                &format!("/v1/challenges/{id}/resend"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(r["sends"], send, "{r}");
        assert_eq!(r["challenge_id"], id.as_str());
        assert_eq!(
            app.pin_from_email(send).await,
            first,
            "resend {send} carries the same PIN"
        );
    }
    let mails = app.smtp.messages();
    assert_eq!(mails.len(), max_sends);
    assert!(
        mails
            .iter()
            .all(|m| m.to == vec!["it-admin@contoso.example".to_string()])
    );

    let resp = app
        .client
        .post(app.url(&format!("/v1/challenges/{id}/resend")))
        .bearer_auth(&app.agent_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body = expect_problem(resp, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["type"], "urn:pingate:problem:quota-exceeded");
    let secs: u64 = retry_after
        .expect("429 carries Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        secs >= 1 && secs <= app.settings.pin.ttl.0.as_secs(),
        "{secs}"
    );

    // The refused resend sent nothing and the PIN still works.
    let (status, r) = check(&app, &id, &first).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved", "{r}");
    let pin_mails = app
        .smtp
        .messages()
        .iter()
        .filter(|m| m.body_text().contains(&first))
        .count();
    assert_eq!(pin_mails, max_sends);
    app.shutdown().await;
}
on_both_engines!(
    resend_delivers_the_same_pin_then_429_with_retry_after,
    resend_delivers_the_same_pin_then_429_with_retry_after
);

async fn unknown_ids_answer_404(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let missing_challenge = "chl_00000000000000000000000000000000";
    let requests: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            format!("/v1/challenges/{missing_challenge}/check"),
            Some(json!({ "pin": "123456" })),
        ),
        (
            "POST",
            "/v1/challenges/nonsense/check".into(),
            Some(json!({ "pin": "123456" })),
        ),
        (
            "POST",
            format!("/v1/challenges/{missing_challenge}/resend"),
            Some(json!({})),
        ),
        ("GET", format!("/v1/challenges/{missing_challenge}"), None),
        (
            "GET",
            "/v1/challenges/%27%3B%20DROP%20TABLE%20calls".into(),
            None,
        ),
        (
            "GET",
            "/v1/calls/call_00000000000000000000000000000000".into(),
            None,
        ),
        (
            "POST",
            "/v1/calls/nope/challenges".into(),
            Some(json!({ "channel": "email" })),
        ),
        (
            "POST",
            "/v1/calls/nope/org".into(),
            Some(json!({ "org_id": "contoso" })),
        ),
        ("POST", "/v1/calls/nope/grant".into(), Some(json!({}))),
        (
            "GET",
            "/v1/grants/grt_00000000000000000000000000000000".into(),
            None,
        ),
        ("POST", "/v1/grants/nope/revoke".into(), Some(json!({}))),
    ];
    for (method, path, body) in requests {
        let mut req = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&app.agent_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let problem = expect_problem(resp, StatusCode::NOT_FOUND).await;
        assert_eq!(
            problem["type"], "urn:pingate:problem:not-found",
            "{method} {path}"
        );
    }
    let resp = app
        .client
        .get(app.url("/v1/orgs/nope"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    expect_problem(resp, StatusCode::NOT_FOUND).await;
    app.shutdown().await;
}
on_both_engines!(unknown_ids_answer_404, unknown_ids_answer_404);

async fn health_readiness_and_metrics_answer_200(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    // Something to count first.
    app.call(&call_sid(), "+14155550123", None).await;
    for path in ["/healthz", "/readyz"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let (_, body) = split(resp).await;
        assert!(body.is_object(), "{path}: {body}");
    }
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    let text = resp.text().await.unwrap();
    assert!(text.contains("pingate_"), "{text}");
    app.shutdown().await;
}
on_both_engines!(
    health_readiness_and_metrics_answer_200,
    health_readiness_and_metrics_answer_200
);

/// One request of each refusal the API makes, all checked for the
/// problem+json shape and for leaked internals in one sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_is_problem_json_without_internals() {
    let app = TestApp::spawn(Engine::Sqlite, "every_error_answer_is_problem_json")
        .await
        .expect("sqlite");
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let c = &app.client;
    let u = |p: &str| app.url(p);
    let hostile = "'; SELECT * FROM principals; --";
    let requests = vec![
        c.get(u("/v1/calls")),
        c.get(u("/v1/calls")).bearer_auth("garbage"),
        c.get(u("/v1/audit")).bearer_auth(&app.agent_token),
        c.get(u(&format!("/v1/calls?status={hostile}")))
            .bearer_auth(&app.agent_token),
        c.get(u("/v1/calls?limit=-1")).bearer_auth(&app.agent_token),
        c.get(u("/v1/calls?limit=abc"))
            .bearer_auth(&app.agent_token),
        c.get(u("/v1/calls?cursor=zzz"))
            .bearer_auth(&app.agent_token),
        c.get(u("/v1/calls?unknown=1"))
            .bearer_auth(&app.agent_token),
        c.get(u("/v1/audit?from=yesterday"))
            .bearer_auth(&app.reviewer_token),
        c.get(u("/v1/audit?after_seq=x"))
            .bearer_auth(&app.reviewer_token),
        c.get(u("/v1/audit/export?format=xml"))
            .bearer_auth(&app.reviewer_token),
        c.get(u("/v1/audit/proof/inclusion?seq=0&size=1"))
            .bearer_auth(&app.reviewer_token),
        c.get(u("/v1/audit/proof/inclusion?seq=5&size=2"))
            .bearer_auth(&app.reviewer_token),
        c.get(u("/v1/audit/proof/consistency?from=3&to=1"))
            .bearer_auth(&app.reviewer_token),
        c.get(u("/v1/audit/proof/inclusion?seq=-1&size=1"))
            .bearer_auth(&app.reviewer_token),
        c.get(u(&format!("/v1/calls/{hostile}")))
            .bearer_auth(&app.agent_token),
        c.post(u(&format!("/v1/calls/{call_id}/org")))
            .bearer_auth(&app.agent_token)
            .json(&json!({ "org_id": hostile })),
        c.post(u(&format!("/v1/calls/{call_id}/grant")))
            .bearer_auth(&app.agent_token)
            .json(&json!({})),
        c.post(u("/v1/orgs"))
            .bearer_auth(&app.admin_token)
            .json(&json!({ "id": "Bad Id!", "name": "" })),
        c.post(u("/v1/orgs"))
            .bearer_auth(&app.admin_token)
            .header("content-type", "application/json")
            .body("{"),
        c.post(u("/webhooks/twilio/voice"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("CallSid=CA1&From=%2B1"),
        c.post(u("/webhooks/twilio/voice"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", "!!!not base64!!!")
            .body("CallSid=CA1"),
        c.delete(u("/v1/calls")).bearer_auth(&app.agent_token),
        c.get(u("/nowhere")),
    ];
    for req in requests {
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let url = resp.url().to_string();
        assert!(
            status.is_client_error(),
            "{url}: expected a client error, got {status}"
        );
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = resp.text().await.unwrap();
        assert_problem_text(&ctype, &text, status);
    }
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
