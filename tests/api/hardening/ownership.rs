//! Issue 8 item 5: a call is handled by the agent who first acts on it;
//! another agent is refused (409, naming the handler, audited) until it
//! takes the call over explicitly, and the open challenge keeps its spent
//! attempts. An agent sees only their own grants.

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::errors::{audit_events, expect_problem};
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, wrong_pin};
use pingate::store::principals::Role;

pub(super) async fn second_agent(app: &TestApp, name: &str) -> String {
    pingate::service::principals::add(app.state(), "test", name, Role::Agent)
        .await
        .expect("second agent")
        .expose_secret()
        .to_string()
}

/// `POST path` as `token`, expecting the refusal that another agent
/// (`handler`) handles the call.
async fn refused(app: &TestApp, token: &str, path: &str, body: Value, handler: &str) {
    let resp = app.post_raw(token, path, body).await;
    let p = expect_problem(resp, StatusCode::CONFLICT).await;
    assert_eq!(
        p["type"], "urn:pingate:problem:handled-by-another-agent",
        "{path}: {p}"
    );
    assert_eq!(p["handled_by"], handler, "{path}: {p}");
}

async fn attempts_left(app: &TestApp, challenge_id: &str) -> i64 {
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
        .await;
    ch["attempts_left"].as_i64().expect("attempts_left")
}

async fn only_the_handling_agent_acts_until_another_takes_the_call_over(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (call_id, ch, pin) = app.pending_pin(1).await;
    let bob = second_agent(&app, "bob").await;
    let (_, call) = app.get(&bob, &format!("/v1/calls/{call_id}")).await;
    assert_eq!(call["handled_by"], "alice", "{call}");

    // Bob's check spends nothing; nor do his resend, cancel or new PIN.
    let check = format!("/v1/challenges/{ch}/check");
    refused(
        &app,
        &bob,
        &check,
        json!({ "pin": wrong_pin(&pin) }),
        "alice",
    )
    .await;
    refused(
        &app,
        &bob,
        &format!("/v1/challenges/{ch}/resend"),
        json!({}),
        "alice",
    )
    .await;
    refused(
        &app,
        &bob,
        &format!("/v1/challenges/{ch}/cancel"),
        json!({}),
        "alice",
    )
    .await;
    let create = format!("/v1/calls/{call_id}/challenges");
    refused(&app, &bob, &create, json!({ "channel": "email" }), "alice").await;
    assert_eq!(attempts_left(&app, &ch).await, 5);
    let refusals = audit_events(&app, "authz_fail").await;
    assert_eq!(refusals.len(), 4, "{refusals:?}");
    for e in &refusals {
        assert_eq!(e["actor"], "agent:bob", "{e}");
        assert_eq!(e["call_id"], call_id.as_str(), "{e}");
        assert_eq!(e["detail"]["handled_by"], "alice", "{e}");
    }
    let (_, ch_now) = app
        .get(&app.agent_token, &format!("/v1/challenges/{ch}"))
        .await;
    assert_eq!(ch_now["status"], "pending", "{ch_now}");
    assert_eq!(ch_now["sends"], 1, "{ch_now}");

    // Alice spends one; bob takes over and inherits the spent attempt.
    let (_, r) = app.check(&ch, wrong_pin(&pin)).await;
    assert_eq!(r["attempts_left"], 4, "{r}");
    let (status, call) = app
        .post(&bob, &format!("/v1/calls/{call_id}/take"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    assert_eq!(call["handled_by"], "bob", "{call}");
    let taken = audit_events(&app, "call_taken").await;
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0]["actor"], "agent:bob");
    assert_eq!(taken[0]["detail"]["previous"], "alice");
    refused(&app, &app.agent_token, &check, json!({ "pin": pin }), "bob").await;

    let (_, r) = app
        .post(&bob, &check, json!({ "pin": wrong_pin(&pin) }))
        .await;
    assert_eq!(
        r["attempts_left"], 3,
        "the challenge kept its spent attempts: {r}"
    );
    let (status, r) = app.post(&bob, &check, json!({ "pin": pin })).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved", "{r}");
    assert_eq!(r["grant"]["agent"], "bob", "{r}");
    app.shutdown().await;
}
on_both_engines!(
    only_the_handling_agent_acts_until_another_takes_the_call_over,
    only_the_handling_agent_acts_until_another_takes_the_call_over
);

async fn the_first_agent_to_act_handles_the_call(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let bob = second_agent(&app, "bob").await;
    // Attaching the org claims the call.
    let call_id = app.new_call("+14155550124", None).await;
    let (_, call) = app.get(&bob, &format!("/v1/calls/{call_id}")).await;
    assert_eq!(call["handled_by"], Value::Null, "{call}");
    let (status, _) = app.set_org(&call_id, "contoso").await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/v1/calls/{call_id}/challenges");
    refused(&app, &bob, &path, json!({ "channel": "email" }), "alice").await;
    // A trusted grant claims a trusted call.
    let trusted = app
        .new_call("+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let (status, g) = app
        .post(&bob, &format!("/v1/calls/{trusted}/grant"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    let grant = format!("/v1/calls/{trusted}/grant");
    refused(&app, &app.agent_token, &grant, json!({}), "bob").await;
    assert_eq!(audit_events(&app, "grant_issued").await.len(), 1);
    app.shutdown().await;
}
on_both_engines!(
    the_first_agent_to_act_handles_the_call,
    the_first_agent_to_act_handles_the_call
);

async fn an_agent_sees_only_their_own_grants(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let bob = second_agent(&app, "bob").await;
    let call_id = app
        .new_call("+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let (_, g) = app.grant(&call_id).await;
    let grant_id = g["grant"]["grant_id"].as_str().unwrap().to_string();
    let path = format!("/v1/grants/{grant_id}");

    let resp = app.get_raw(&bob, &path).await;
    let p = expect_problem(resp, StatusCode::NOT_FOUND).await;
    assert_eq!(p["type"], "urn:pingate:problem:not-found", "{p}");
    let (status, mine) = app.get(&app.agent_token, &path).await;
    assert_eq!(
        (status, mine["agent"].as_str()),
        (StatusCode::OK, Some("alice"))
    );
    let (status, any) = app.get(&app.admin_token, &path).await;
    assert_eq!(
        (status, any["grant_id"].as_str()),
        (StatusCode::OK, Some(grant_id.as_str()))
    );

    let (_, as_bob) = app.get(&bob, &format!("/v1/calls/{call_id}")).await;
    assert_eq!(as_bob["grants"], json!([]), "{as_bob}");
    assert_eq!(as_bob["notices"], json!([]), "{as_bob}");
    let (_, as_alice) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(
        as_alice["grants"].as_array().unwrap().len(),
        1,
        "{as_alice}"
    );
    assert!(
        !as_alice["notices"].as_array().unwrap().is_empty(),
        "{as_alice}"
    );
    app.shutdown().await;
}
on_both_engines!(
    an_agent_sees_only_their_own_grants,
    an_agent_sees_only_their_own_grants
);

/// A grant is for an agent handling the call: when another agent takes the
/// call over, the previous agent's grant on it ends (revoked by the new
/// handler, audited with the reason) in the takeover's own transaction;
/// that agent's grants on other calls stay.
async fn a_takeover_revokes_the_previous_agents_grant(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let bob = second_agent(&app, "bob").await;
    let mut tokens = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..2 {
        let call_id = app
            .new_call("+14155550100", Some("TN-Validation-Passed-A"))
            .await;
        let (status, g) = app.grant(&call_id).await;
        assert_eq!(status, StatusCode::CREATED, "{g}");
        tokens.push(g["grant"]["token"].as_str().unwrap().to_string());
        calls.push((
            call_id,
            g["grant"]["grant_id"].as_str().unwrap().to_string(),
        ));
    }
    let (taken, grant_id) = &calls[0];
    let (status, call) = app
        .post(&bob, &format!("/v1/calls/{taken}/take"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");

    let active = |token: String| {
        let app = &app;
        async move {
            let (_, i) = app
                .post(
                    &app.admin_token,
                    "/v1/grants/introspect",
                    json!({ "token": token }),
                )
                .await;
            i["active"].as_bool().expect("active")
        }
    };
    assert!(
        !active(tokens[0].clone()).await,
        "alice's grant on the taken call ended"
    );
    assert!(
        active(tokens[1].clone()).await,
        "her grant on another call stays"
    );
    let (_, g) = app
        .get(&app.admin_token, &format!("/v1/grants/{grant_id}"))
        .await;
    assert_eq!(g["revoked_by"], "agent:bob", "{g}");
    let revoked = audit_events(&app, "grant_revoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["actor"], "agent:bob");
    assert_eq!(revoked[0]["grant_id"], grant_id.as_str());
    assert_eq!(revoked[0]["call_id"], taken.as_str());
    assert_eq!(revoked[0]["detail"]["reason"], "call_taken_over");
    let taken_ev = &audit_events(&app, "call_taken").await[0];
    assert_eq!(
        taken_ev["seq"].as_i64().unwrap() + 1,
        revoked[0]["seq"].as_i64().unwrap(),
        "the takeover and the revocation are one change: {taken_ev} {revoked:?}"
    );

    // Taking it back revokes nothing more: bob had no grant on it.
    let (status, _) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{taken}/take"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit_events(&app, "grant_revoked").await.len(), 1);
    app.shutdown().await;
}
on_both_engines!(
    a_takeover_revokes_the_previous_agents_grant,
    a_takeover_revokes_the_previous_agents_grant
);
