//! Unknown ids, health and readiness, and one sweep of every refusal the API
//! makes, checked for the problem+json shape and leaked internals.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, call_sid, split};

use super::{assert_problem_text, expect_problem, pin_required_call};

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

async fn readiness_is_503_problem_json_when_the_database_is_gone(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.lose_the_database().await;
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = expect_problem(resp, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["type"], "urn:pingate:problem:not-ready", "{body}");
    // Liveness is not readiness: the process still answers.
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    app.shutdown().await;
}
on_both_engines!(
    readiness_is_503_problem_json_when_the_database_is_gone,
    readiness_is_503_problem_json_when_the_database_is_gone
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
