//! Live answers against the document: what the server answers fits the
//! documented status codes, media types and schemas.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{ACCOUNT_SID, Engine, TestApp, call_sid, wrong_pin};

use super::schema::conforms;
use super::{deref, document};

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut req = app
        .client
        .request(method.parse().expect("method"), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = resp.text().await.expect("body");
    let body = if content_type.contains("json") && !text.is_empty() {
        serde_json::from_str(&text).expect("JSON answer")
    } else {
        Value::String(text)
    };
    Answer {
        status,
        content_type,
        body,
    }
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Answer {
    send(app, "GET", path, token, None).await
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    send(app, "POST", path, token, body).await
}

/// The answer's status is documented for the operation (`template`, the
/// document's path), its media type too, and the body fits the schema.
fn check_answer(doc: &Value, method: &str, template: &str, a: &Answer) -> Value {
    let op = &doc["paths"][template][method.to_lowercase()];
    assert!(op.is_object(), "{method} {template} is not documented");
    let status = a.status.as_u16().to_string();
    let resp = op["responses"].get(&status).unwrap_or_else(|| {
        panic!(
            "{method} {template} answered {status}, which is not documented: {}",
            a.body
        )
    });
    let resp = deref(doc, resp);
    let base = |m: &str| m.split(';').next().unwrap().trim().to_ascii_lowercase();
    match resp.get("content").and_then(Value::as_object) {
        None => assert!(
            a.body.as_str().is_some_and(str::is_empty),
            "{method} {template} {status}: documented without a body, got {}",
            a.body
        ),
        Some(content) => {
            let (_, media) = content
                .iter()
                .find(|(m, _)| base(m) == base(&a.content_type))
                .unwrap_or_else(|| {
                    panic!(
                        "{method} {template} {status}: content type {} is not documented",
                        a.content_type
                    )
                });
            let mut errors = Vec::new();
            conforms(doc, &media["schema"], &a.body, "$", &mut errors);
            assert!(
                errors.is_empty(),
                "{method} {template} {status} does not fit the document: {errors:#?}\n{}",
                a.body
            );
        }
    }
    a.body.clone()
}

async fn live_answers_fit_the_document(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let doc = document();
    let (agent, reviewer, admin) = (
        app.agent_token.as_str(),
        app.reviewer_token.as_str(),
        app.admin_token.as_str(),
    );
    app.import_contoso().await;

    // Operations.
    for path in ["/healthz", "/readyz"] {
        check_answer(&doc, "GET", path, &get(&app, path, None).await);
    }

    // Admin: org profiles.
    let a = get(&app, "/v1/orgs/contoso", Some(admin)).await;
    assert_eq!(a.status, StatusCode::OK);
    check_answer(&doc, "GET", "/v1/orgs/{org_id}", &a);
    check_answer(
        &doc,
        "GET",
        "/v1/orgs",
        &get(&app, "/v1/orgs", Some(admin)).await,
    );
    let fabrikam = json!({
        "id": "fabrikam", "name": "Fabrikam", "account_number": "5550001",
        "registered_numbers": ["+14155550177"], "channels": ["sms"],
        "contacts": {"sms": "+14155550178"}, "language": "en",
    });
    let a = post(&app, "/v1/orgs", Some(admin), Some(fabrikam.clone())).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(
        check_answer(&doc, "POST", "/v1/orgs", &a),
        fabrikam,
        "the import shape round-trips"
    );
    let a = post(
        &app,
        "/v1/orgs",
        Some(admin),
        Some(json!({"id": "x", "name": ""})),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    check_answer(&doc, "POST", "/v1/orgs", &a);
    let a = post(
        &app,
        "/v1/orgs/fabrikam/numbers",
        Some(admin),
        Some(json!({"number": "+14155550179"})),
    )
    .await;
    check_answer(&doc, "POST", "/v1/orgs/{org_id}/numbers", &a);
    let a = send(
        &app,
        "DELETE",
        "/v1/orgs/fabrikam/numbers/%2B14155550179",
        Some(admin),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    check_answer(&doc, "DELETE", "/v1/orgs/{org_id}/numbers/{number}", &a);
    let a = send(&app, "DELETE", "/v1/orgs/fabrikam", Some(admin), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    check_answer(&doc, "DELETE", "/v1/orgs/{org_id}", &a);

    // An unknown caller: attach the org, PIN by email, wrong then right.
    let sid = call_sid();
    let twiml = app.call(&sid, "anonymous", None).await;
    assert!(twiml.contains("<Gather"), "{twiml}");
    let call_id = app.call_id_for(&sid).await;
    let a = post(
        &app,
        &format!("/v1/calls/{call_id}/org"),
        Some(agent),
        Some(json!({"org_id": "contoso"})),
    )
    .await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/calls/{call_id}/org", &a)["verification"],
        "pin_required"
    );
    let a = post(
        &app,
        &format!("/v1/calls/{call_id}/challenges"),
        Some(agent),
        Some(json!({"channel": "email", "destination": "attacker@example.com"})),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "a destination field is refused: {}",
        a.body
    );
    check_answer(&doc, "POST", "/v1/calls/{call_id}/challenges", &a);
    let a = post(
        &app,
        &format!("/v1/calls/{call_id}/challenges"),
        Some(agent),
        Some(json!({"channel": "email"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let challenge = check_answer(&doc, "POST", "/v1/calls/{call_id}/challenges", &a);
    let challenge_id = challenge["challenge_id"].as_str().unwrap().to_string();
    let a = get(&app, &format!("/v1/challenges/{challenge_id}"), Some(agent)).await;
    check_answer(&doc, "GET", "/v1/challenges/{challenge_id}", &a);
    let a = post(
        &app,
        &format!("/v1/challenges/{challenge_id}/resend"),
        Some(agent),
        None,
    )
    .await;
    check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/resend", &a);
    let pin = app.pin_from_email(1).await;
    let wrong = wrong_pin(&pin);
    let check_path = format!("/v1/challenges/{challenge_id}/check");
    let a = post(&app, &check_path, Some(agent), Some(json!({"pin": wrong}))).await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/check", &a)["status"],
        "pending"
    );
    let a = post(&app, &check_path, Some(agent), Some(json!({"pin": "12"}))).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/check", &a);
    let a = post(&app, &check_path, Some(agent), Some(json!({"pin": pin}))).await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/check", &a)["status"],
        "approved"
    );
    let a = post(&app, &check_path, Some(agent), Some(json!({"pin": pin}))).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(
        check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/check", &a)["state"],
        "approved"
    );
    let a = get(&app, &format!("/v1/calls/{call_id}"), Some(agent)).await;
    let call = check_answer(&doc, "GET", "/v1/calls/{call_id}", &a);
    assert!(
        !call.to_string().contains(&format!("\"{pin}\"")),
        "the PIN is never returned"
    );

    // A trusted caller: grant without a PIN, read it, introspect it.
    let sid = call_sid();
    app.call(&sid, "+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let call_id = app.call_id_for(&sid).await;
    check_answer(
        &doc,
        "GET",
        "/v1/calls",
        &get(&app, "/v1/calls?status=active", Some(agent)).await,
    );
    let a = get(&app, &format!("/v1/calls/{call_id}"), Some(agent)).await;
    assert_eq!(
        check_answer(&doc, "GET", "/v1/calls/{call_id}", &a)["verification"],
        "trusted_number"
    );
    let a = post(
        &app,
        &format!("/v1/calls/{call_id}/grant"),
        Some(agent),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let issued = check_answer(&doc, "POST", "/v1/calls/{call_id}/grant", &a);
    let grant_id = issued["grant"]["grant_id"].as_str().unwrap().to_string();
    let token = issued["grant"]["token"].as_str().unwrap().to_string();
    let a = get(&app, &format!("/v1/grants/{grant_id}"), Some(agent)).await;
    assert!(
        check_answer(&doc, "GET", "/v1/grants/{grant_id}", &a)
            .get("token")
            .is_none()
    );
    let a = post(
        &app,
        "/v1/grants/introspect",
        Some(admin),
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/grants/introspect", &a)["active"],
        true
    );
    let a = post(
        &app,
        &format!("/v1/grants/{grant_id}/revoke"),
        Some(admin),
        None,
    )
    .await;
    check_answer(&doc, "POST", "/v1/grants/{grant_id}/revoke", &a);
    let a = post(
        &app,
        "/v1/grants/introspect",
        Some(agent),
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/grants/introspect", &a),
        json!({"active": false})
    );

    // Webhooks: call status, an unsigned request.
    let a = app
        .webhook(
            "/webhooks/twilio/status",
            &[
                ("CallSid", &sid),
                ("AccountSid", ACCOUNT_SID),
                ("CallStatus", "completed"),
            ],
        )
        .await;
    assert_eq!(a.status(), StatusCode::NO_CONTENT);
    let a = post(&app, "/webhooks/twilio/voice", None, Some(json!({}))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    check_answer(&doc, "POST", "/webhooks/twilio/voice", &a);

    // Reviewer: the audit trail.
    let a = get(&app, "/v1/audit?limit=5", Some(reviewer)).await;
    assert_eq!(
        check_answer(&doc, "GET", "/v1/audit", &a)["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let a = get(&app, "/v1/audit/verify", Some(reviewer)).await;
    assert_eq!(
        check_answer(&doc, "GET", "/v1/audit/verify", &a)["ok"],
        true
    );
    let a = get(&app, "/v1/audit/export?format=csv", Some(reviewer)).await;
    check_answer(&doc, "GET", "/v1/audit/export", &a);

    // Reviewer: checkpoints, proofs and the verifier key.
    let a = post(&app, "/v1/audit/checkpoints", Some(reviewer), None).await;
    assert!(a.status.is_success(), "{}", a.body);
    let size = check_answer(&doc, "POST", "/v1/audit/checkpoints", &a)["size"]
        .as_u64()
        .unwrap();
    let a = get(&app, "/v1/audit/checkpoints", Some(reviewer)).await;
    check_answer(&doc, "GET", "/v1/audit/checkpoints", &a);
    let a = get(&app, "/v1/audit/checkpoints/latest", Some(reviewer)).await;
    assert_eq!(a.status, StatusCode::OK);
    check_answer(&doc, "GET", "/v1/audit/checkpoints/latest", &a);
    let a = get(
        &app,
        &format!("/v1/audit/proof/inclusion?seq=1&size={size}"),
        Some(reviewer),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    check_answer(&doc, "GET", "/v1/audit/proof/inclusion", &a);
    let a = get(
        &app,
        "/v1/audit/proof/inclusion?seq=0&size=1",
        Some(reviewer),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    check_answer(&doc, "GET", "/v1/audit/proof/inclusion", &a);
    let a = get(
        &app,
        &format!("/v1/audit/proof/consistency?from=1&to={size}"),
        Some(reviewer),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    check_answer(&doc, "GET", "/v1/audit/proof/consistency", &a);
    let a = get(&app, "/v1/audit/public-key", Some(reviewer)).await;
    assert_eq!(a.status, StatusCode::OK);
    check_answer(&doc, "GET", "/v1/audit/public-key", &a);

    // Errors: unknown resource, wrong role, no token, unknown query parameter.
    let a = get(
        &app,
        "/v1/calls/call_00000000000000000000000000000000",
        Some(agent),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    check_answer(&doc, "GET", "/v1/calls/{call_id}", &a);
    let a = get(&app, "/v1/audit", Some(agent)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    check_answer(&doc, "GET", "/v1/audit", &a);
    let a = post(
        &app,
        &format!("/v1/calls/{call_id}/challenges"),
        None,
        Some(json!({"channel": "sms"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    check_answer(&doc, "POST", "/v1/calls/{call_id}/challenges", &a);
    let a = get(&app, "/v1/calls?sort=asc", Some(agent)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    check_answer(&doc, "GET", "/v1/calls", &a);
    let a = get(&app, "/v1/orgs?limit=0", Some(admin)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    check_answer(&doc, "GET", "/v1/orgs", &a);

    app.shutdown().await;
}
on_both_engines!(
    openapi_live_answers_fit_the_document,
    live_answers_fit_the_document
);
