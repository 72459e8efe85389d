//! The admin API for principals (`/v1/principals`): created, listed,
//! rotated and disabled, each audited; a disabled, rotated or expired token
//! stops working at once, on every instance sharing the database.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, postgres_url};

async fn calls_status(app: &TestApp, base: &str, token: &str) -> StatusCode {
    app.client
        .get(format!("{base}/v1/calls"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
}

fn token_of(v: &Value) -> String {
    let t = v["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {v}"));
    assert!(t.starts_with("pga_"), "{t}");
    t.to_string()
}

async fn create(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.post(&app.admin_token, "/v1/principals", body).await
}

async fn admin_manages_principals_and_every_change_is_audited(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let (status, pat) = create(&app, json!({"name": "pat", "role": "agent"})).await;
    assert_eq!(status, StatusCode::CREATED, "{pat}");
    assert_eq!(pat["status"], "active");
    assert!(pat["expires_at"].is_null(), "{pat}");
    let first = token_of(&pat);
    assert_eq!(calls_status(&app, &app.base, &first).await, StatusCode::OK);

    let (status, list) = app.get(&app.admin_token, "/v1/principals").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["adam", "alice", "pat", "rita"]);
    assert!(
        !list.to_string().contains("pga_"),
        "a list never shows a token: {list}"
    );
    assert!(!list.to_string().contains("token"), "{list}");

    let (status, rotated) = app
        .post(&app.admin_token, "/v1/principals/pat/rotate", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = token_of(&rotated);
    assert_ne!(first, second);
    assert_eq!(
        calls_status(&app, &app.base, &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls_status(&app, &app.base, &second).await, StatusCode::OK);

    let (status, disabled) = app
        .post(&app.admin_token, "/v1/principals/pat/disable", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    assert_eq!(disabled["status"], "disabled");
    assert!(disabled.get("token").is_none(), "{disabled}");
    assert_eq!(
        calls_status(&app, &app.base, &second).await,
        StatusCode::UNAUTHORIZED
    );

    for (kind, actor) in [
        ("principal_created", "admin:adam"),
        ("principal_rotated", "admin:adam"),
        ("principal_disabled", "admin:adam"),
    ] {
        let events: Vec<Value> = app
            .events(kind)
            .await
            .into_iter()
            .filter(|e| e["detail"]["principal"] == "agent:pat")
            .collect();
        assert_eq!(events.len(), 1, "{kind}: {events:?}");
        assert_eq!(events[0]["actor"], actor, "{kind}");
    }
    app.shutdown().await;
}
on_both_engines!(
    admin_manages_principals_and_every_change_is_audited,
    admin_manages_principals_and_every_change_is_audited
);

async fn refused_principal_changes_answer_problem_json_naming_the_field(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let problem = |status: StatusCode, v: &Value, expect: StatusCode, field: Option<&str>| {
        assert_eq!(status, expect, "{v}");
        assert!(
            v["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:pingate:problem:"),
            "{v}"
        );
        if let Some(f) = field {
            assert_eq!(v["errors"][0]["field"], f, "{v}");
        }
    };
    let (s, v) = create(&app, json!({"name": "pat", "role": "root"})).await;
    problem(s, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("role"));
    let (s, v) = create(&app, json!({"name": "alice", "role": "agent"})).await;
    problem(s, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("name"));
    let (s, v) = create(
        &app,
        json!({"name": "pat", "role": "agent", "token": "mine"}),
    )
    .await;
    problem(s, &v, StatusCode::BAD_REQUEST, Some("token"));
    let (s, v) = create(
        &app,
        json!({"name": "pat", "role": "agent", "expires_at": "2001-01-01T00:00:00Z"}),
    )
    .await;
    problem(s, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("expires_at"));
    let (s, v) = app
        .post(&app.admin_token, "/v1/principals/nobody/disable", json!({}))
        .await;
    problem(s, &v, StatusCode::NOT_FOUND, None);
    let (s, v) = app
        .post(&app.admin_token, "/v1/principals/rita/disable", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for path in ["/v1/principals/rita/disable", "/v1/principals/rita/rotate"] {
        let (s, v) = app.post(&app.admin_token, path, json!({})).await;
        problem(s, &v, StatusCode::CONFLICT, None);
        assert_eq!(v["state"], "disabled", "{path}: {v}");
    }
    app.shutdown().await;
}
on_both_engines!(
    refused_principal_changes_answer_problem_json_naming_the_field,
    refused_principal_changes_answer_problem_json_naming_the_field
);

async fn a_token_stops_working_when_it_expires(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let now = pingate::clock::Clock::now_ms(&app.clock);
    let at = pingate::clock::rfc3339(now + 3_600_000);
    let (status, pat) = create(
        &app,
        json!({"name": "pat", "role": "agent", "expires_at": at}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{pat}");
    assert_eq!(pat["expires_at"], at.as_str());
    let token = token_of(&pat);
    assert_eq!(calls_status(&app, &app.base, &token).await, StatusCode::OK);
    app.clock.advance(Duration::from_secs(3_601));
    assert_eq!(
        calls_status(&app, &app.base, &token).await,
        StatusCode::UNAUTHORIZED
    );
    let (_, list) = app.get(&app.admin_token, "/v1/principals").await;
    let pat = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pat")
        .cloned()
        .unwrap();
    assert_eq!(pat["status"], "expired", "{pat}");
    // Rotating renews an expired principal.
    let (status, renewed) = app
        .post(&app.admin_token, "/v1/principals/pat/rotate", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(renewed["status"], "active");
    assert_eq!(
        calls_status(&app, &app.base, &token_of(&renewed)).await,
        StatusCode::OK
    );
    app.shutdown().await;
}
on_both_engines!(
    a_token_stops_working_when_it_expires,
    a_token_stops_working_when_it_expires
);

/// Two servers on one PostgreSQL database: a change made through either
/// is in force on the other at the very next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_or_rotated_token_stops_working_on_every_instance_at_once() {
    let test = "a_disabled_or_rotated_token_stops_working_on_every_instance_at_once";
    if postgres_url(test).is_none() {
        return;
    }
    let app = TestApp::spawn(Engine::Postgres, test)
        .await
        .expect("postgres");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut settings = app.settings.clone();
    let port = listener.local_addr().expect("addr").port();
    settings.server.listen = format!("127.0.0.1:{port}");
    settings.server.public_base_url = format!("http://127.0.0.1:{port}");
    let second = pingate::start(settings, Arc::new(app.clock.clone()), listener)
        .await
        .expect("second instance starts");
    let other = format!("http://{}", second.addr);

    let (_, pat) = create(&app, json!({"name": "pat", "role": "agent"})).await;
    let first = token_of(&pat);
    for base in [&app.base, &other] {
        assert_eq!(
            calls_status(&app, base, &first).await,
            StatusCode::OK,
            "{base}"
        );
    }
    // Rotated through the second instance: the first refuses the old token.
    let resp = app
        .client
        .post(format!("{other}/v1/principals/pat/rotate"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .expect("rotate");
    assert_eq!(resp.status(), StatusCode::OK);
    let rotated = token_of(&resp.json::<Value>().await.expect("json"));
    assert_eq!(
        calls_status(&app, &app.base, &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        calls_status(&app, &app.base, &rotated).await,
        StatusCode::OK
    );
    // Disabled through the first: the second refuses at once.
    let (status, _) = app
        .post(&app.admin_token, "/v1/principals/pat/disable", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        calls_status(&app, &other, &rotated).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        calls_status(&app, &app.base, &rotated).await,
        StatusCode::UNAUTHORIZED
    );

    second.shutdown().await.expect("second instance stops");
    app.shutdown().await;
}
