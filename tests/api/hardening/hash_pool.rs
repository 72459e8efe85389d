//! Item 6: one agent cannot starve the argon2 pool. Quotas are charged
//! before any hashing (unknown challenge ids included), each principal has
//! a small cap of hashing work in flight, and a full queue answers 503
//! with Retry-After. The pool is held shut by the test (its permits
//! taken), so what is waiting is decided by counts, never by timing.

use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::errors::audit_events;
use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp};
use pingate::store::principals::Role;

fn with(tweak: impl FnOnce(&mut pingate::config::Settings) + Send + 'static) -> Options {
    Options {
        tweak: Box::new(tweak),
        ..Options::default()
    }
}

/// A well-formed challenge id that names no challenge.
fn unknown_id(n: usize) -> String {
    format!("chl_{n:032x}")
}

async fn add_agent(app: &TestApp, name: &str) -> String {
    use secrecy::ExposeSecret;
    pingate::service::principals::add(app.state(), "test", name, Role::Agent)
        .await
        .expect("agent")
        .expose_secret()
        .to_string()
}

async fn check_as(app: &TestApp, token: &str, challenge_id: String) -> (StatusCode, Value) {
    app.post(
        token,
        &format!("/v1/challenges/{challenge_id}/check"),
        json!({ "pin": "000000" }),
    )
    .await
}

/// A pending email challenge on a contoso call, asked for by `token`.
async fn challenge_as(app: &TestApp, token: &str, from: &str) -> String {
    let call_id = app.new_call(from, None).await;
    let (status, body) = app
        .post(
            token,
            &format!("/v1/calls/{call_id}/org"),
            json!({ "org_id": "contoso" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post(
            token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({ "channel": "email" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["challenge_id"].as_str().expect("id").to_string()
}

async fn a_flooding_agent_cannot_queue_ahead_of_another(engine: Engine, test: &str) {
    let opts = with(|s| {
        s.pin.hash_per_principal = 2;
        s.pin.hash_queue = 8;
    });
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let bob = add_agent(&app, "bob").await;
    let bobs = challenge_as(&app, &bob, "+14155550177").await;
    // Shut the pool: nothing admitted can finish until the test lets go.
    let permits = app.settings.pin.hash_concurrency as u32;
    let held = std::sync::Arc::clone(&app.state().hash_permits)
        .acquire_many_owned(permits)
        .await
        .expect("permits");
    let mut flood: FuturesUnordered<_> = (0..10)
        .map(|n| {
            let (app, id) = (&app, unknown_id(n));
            async move { check_as(app, &app.agent_token, id).await }
        })
        .collect();
    // Eight come back while two are stuck waiting for the pool: they can
    // only have been refused, at once, by alice's cap.
    let mut refused = Vec::new();
    while refused.len() < 8 {
        refused.push(flood.next().await.expect("an answer"));
    }
    for (status, body) in &refused {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or("")
                .contains("hash_per_principal")
        );
    }
    assert_eq!(app.state().hash_gate.in_flight(), 2, "alice's cap holds");
    // Bob's check is admitted past alice's excess and ends once the pool
    // runs again, with alice's two still ahead of it.
    let bobs_check = check_as(&app, &bob, bobs.clone());
    drop(held);
    let ((status, body), rest) = tokio::join!(bobs_check, flood.collect::<Vec<_>>());
    assert_eq!(status, StatusCode::OK, "bob's check was evaluated: {body}");
    assert_eq!(body["status"], "pending", "{body}");
    assert_eq!(body["attempts_left"], 4, "{body}");
    let statuses: Vec<_> = rest.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, vec![StatusCode::NOT_FOUND; 2], "{rest:?}");
    app.shutdown().await;
}
on_both_engines!(
    a_flooding_agent_cannot_queue_ahead_of_another,
    a_flooding_agent_cannot_queue_ahead_of_another
);

async fn a_full_hash_queue_answers_503_with_retry_after(engine: Engine, test: &str) {
    let opts = with(|s| {
        s.pin.hash_per_principal = 2;
        s.pin.hash_queue = 3;
    });
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    let bob = add_agent(&app, "bob").await;
    let carol = add_agent(&app, "carol").await;
    let permits = app.settings.pin.hash_concurrency as u32;
    let held = std::sync::Arc::clone(&app.state().hash_permits)
        .acquire_many_owned(permits)
        .await
        .expect("permits");
    let mut waiting: FuturesUnordered<_> = FuturesUnordered::new();
    for n in 0..3 {
        waiting.push(check_as(&app, &app.agent_token, unknown_id(n)));
    }
    // Alice's third is refused only once her first two hold their places.
    let (status, _) = waiting.next().await.expect("an answer");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    waiting.push(check_as(&app, &bob, unknown_id(10)));
    waiting.push(check_as(&app, &bob, unknown_id(11)));
    let (status, _) = waiting.next().await.expect("an answer");
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "bob took the last place"
    );
    let resp = app
        .post_raw(
            &carol,
            &format!("/v1/challenges/{}/check", unknown_id(20)),
            json!({ "pin": "000000" }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().get("retry-after").is_some(), "Retry-After");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/problem+json"), "{ct}");
    assert_eq!(app.state().hash_gate.in_flight(), 3);
    drop(held);
    let rest: Vec<_> = waiting.collect().await;
    let statuses: Vec<_> = rest.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, vec![StatusCode::NOT_FOUND; 3], "{rest:?}");
    assert_eq!(app.state().hash_gate.in_flight(), 0, "every place freed");
    // Both caps refuse as a quota does: audited, naming the cap and who.
    let refusals = audit_events(&app, "excess_rate_limit_exceeded").await;
    let seen: Vec<(&str, &str)> = refusals
        .iter()
        .map(|e| {
            let quota = e["detail"]["quota"].as_str().unwrap_or_default();
            (e["actor"].as_str().unwrap_or_default(), quota)
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("agent:alice", "hash_per_principal"),
            ("agent:bob", "hash_queue"),
            ("agent:carol", "hash_queue"),
        ],
        "{refusals:?}"
    );
    for e in &refusals {
        assert_eq!(e["outcome"], "failure", "{e}");
        assert_eq!(e["detail"]["retry_after_secs"], 1, "{e}");
    }
    app.shutdown().await;
}
on_both_engines!(
    a_full_hash_queue_answers_503_with_retry_after,
    a_full_hash_queue_answers_503_with_retry_after
);

async fn checks_on_unknown_ids_are_charged_to_the_agent(engine: Engine, test: &str) {
    let Some(app) =
        TestApp::spawn_with(engine, test, with(|s| s.limits.checks_per_agent = 2)).await
    else {
        return;
    };
    for n in 0..2 {
        let (status, body) = check_as(&app, &app.agent_token, unknown_id(n)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
    let (status, body) = check_as(&app, &app.agent_token, unknown_id(2)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("checks_per_agent")
    );
    let events = app.events("excess_rate_limit_exceeded").await;
    assert_eq!(
        events.last().expect("audited")["detail"]["quota"],
        "checks_per_agent"
    );
    app.shutdown().await;
}
on_both_engines!(
    checks_on_unknown_ids_are_charged_to_the_agent,
    checks_on_unknown_ids_are_charged_to_the_agent
);

async fn a_refused_challenge_costs_no_hashing(engine: Engine, test: &str) {
    let opts = with(|s| s.limits.challenges_per_agent = 1);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    challenge_as(&app, &app.agent_token, "+14155550178").await;
    let call_id = app.new_call("+14155550179", None).await;
    app.set_org(&call_id, "contoso").await;
    // With the pool shut, a request that hashed first would never answer;
    // the quota refuses it before any hashing.
    let permits = app.settings.pin.hash_concurrency as u32;
    let _held = std::sync::Arc::clone(&app.state().hash_permits)
        .acquire_many_owned(permits)
        .await
        .expect("permits");
    let (status, body) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({ "channel": "email" }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("challenges_per_agent")
    );
    app.shutdown().await;
}
on_both_engines!(
    a_refused_challenge_costs_no_hashing,
    a_refused_challenge_costs_no_hashing
);
