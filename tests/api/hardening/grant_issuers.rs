//! A disabled or rotated agent's grants stop being active at once: they
//! are revoked (audited) with the change, and introspection checks the
//! agent too, so a grant the revocation missed is never active either.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::ownership::second_agent;
use crate::errors::audit_events;
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

async fn introspect(app: &TestApp, token: &str) -> Value {
    let (status, v) = app
        .post(
            &app.admin_token,
            "/v1/grants/introspect",
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

async fn trusted_call(app: &TestApp) -> String {
    app.new_call("+14155550100", Some("TN-Validation-Passed-A"))
        .await
}

/// A trusted grant on `call_id` for the agent with `agent_token`; returns
/// (id, token).
async fn granted(app: &TestApp, agent_token: &str, call_id: &str) -> (String, String) {
    let (status, g) = app
        .post(
            agent_token,
            &format!("/v1/calls/{call_id}/grant"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    let id = g["grant"]["grant_id"].as_str().unwrap().to_string();
    (id, g["grant"]["token"].as_str().unwrap().to_string())
}

async fn a_disabled_or_rotated_agents_grants_stop_being_active(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let bob = second_agent(&app, "bob").await;
    let (alice_grant, alice_token) =
        granted(&app, &app.agent_token, &trusted_call(&app).await).await;
    let (bob_grant, bob_token) = granted(&app, &bob, &trusted_call(&app).await).await;
    // Read now: listing calls needs an agent that is still enabled.
    let later = trusted_call(&app).await;
    assert_eq!(introspect(&app, &alice_token).await["active"], true);
    assert_eq!(introspect(&app, &bob_token).await["active"], true);

    let (status, _) = app
        .post(&app.admin_token, "/v1/principals/alice/disable", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        introspect(&app, &alice_token).await,
        json!({ "active": false })
    );
    let (_, g) = app
        .get(&app.admin_token, &format!("/v1/grants/{alice_grant}"))
        .await;
    assert_eq!(g["active"], false, "{g}");
    assert_eq!(g["revoked_by"], "admin:adam", "{g}");

    let (status, r) = app
        .post(&app.admin_token, "/v1/principals/bob/rotate", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        introspect(&app, &bob_token).await,
        json!({ "active": false })
    );
    let revoked = audit_events(&app, "grant_revoked").await;
    let reasons: Vec<(&str, &str)> = revoked
        .iter()
        .map(|e| {
            (
                e["grant_id"].as_str().unwrap(),
                e["detail"]["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (alice_grant.as_str(), "principal_disabled"),
            (bob_grant.as_str(), "principal_rotated")
        ]
    );
    // Bob's new token gets grants that hold.
    let new_token = r["token"].as_str().expect("the new token").to_string();
    let (_, fresh) = granted(&app, &new_token, &later).await;
    assert_eq!(introspect(&app, &fresh).await["active"], true);
    app.shutdown().await;
}
on_both_engines!(
    a_disabled_or_rotated_agents_grants_stop_being_active,
    a_disabled_or_rotated_agents_grants_stop_being_active
);

/// A grant issued while the agent was being disabled (so the revocation
/// did not see it) still answers inactive: introspection reads the agent.
async fn introspection_checks_the_grants_agent(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (_, token) = granted(&app, &app.agent_token, &trusted_call(&app).await).await;
    sqlx::query("UPDATE principals SET disabled_at = $1 WHERE name = 'alice'")
        .bind(app.state().clock.now_ms())
        .execute(app.state().store.reader())
        .await
        .unwrap();
    assert_eq!(introspect(&app, &token).await, json!({ "active": false }));
    app.shutdown().await;
}
on_both_engines!(
    introspection_checks_the_grants_agent,
    introspection_checks_the_grants_agent
);
