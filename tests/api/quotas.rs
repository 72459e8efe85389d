//! Every database quota refuses at its limit (429, the quota named, an
//! audit event, nothing changed), and a window that has passed frees it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, wrong_pin};

fn with(tweak: impl FnOnce(&mut pingate::config::Settings) + Send + 'static) -> Options {
    Options {
        tweak: Box::new(tweak),
        ..Options::default()
    }
}

/// A distinct unregistered caller of contoso for each `n`.
fn caller(n: usize) -> String {
    format!("+1415555{:04}", 6000 + n)
}

/// A call from `caller(n)` with contoso attached; returns its id.
async fn contoso_call(app: &TestApp, n: usize) -> String {
    let call_id = app.new_call(&caller(n), None).await;
    let (status, body) = app.set_org(&call_id, "contoso").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    call_id
}

async fn ask_challenge(app: &TestApp, call_id: &str, channel: &str) -> (StatusCode, Value) {
    app.post(
        &app.agent_token,
        &format!("/v1/calls/{call_id}/challenges"),
        json!({ "channel": channel }),
    )
    .await
}

/// The answer is the refusal of `quota`, and the latest quota event names it.
async fn assert_refused_by(app: &TestApp, answer: (StatusCode, Value), quota: &str) {
    let (status, body) = answer;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{quota}: {body}");
    assert_eq!(body["type"], "urn:pingate:problem:quota-exceeded", "{body}");
    assert!(
        body["detail"].as_str().unwrap_or_default().contains(quota),
        "{quota}: {body}"
    );
    let events = app.events("excess_rate_limit_exceeded").await;
    let last = events.last().expect("a quota event");
    assert_eq!(last["detail"]["quota"], quota, "{last}");
}

/// `limit` challenges on calls 0.. succeed; the next is refused by `quota`.
async fn challenges_until_refused(app: &TestApp, limit: usize, channel: &str, quota: &str) {
    for n in 0..limit {
        let call_id = contoso_call(app, n).await;
        let (status, body) = ask_challenge(app, &call_id, channel).await;
        assert_eq!(status, StatusCode::CREATED, "challenge {n}: {body}");
    }
    let call_id = contoso_call(app, limit).await;
    let refused = ask_challenge(app, &call_id, channel).await;
    assert_refused_by(app, refused, quota).await;
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["challenges"], json!([]), "the refusal created nothing");
}

async fn challenges_per_org_refuses_then_the_next_window_frees_it(engine: Engine, test: &str) {
    let Some(app) =
        TestApp::spawn_with(engine, test, with(|s| s.limits.challenges_per_org = 2)).await
    else {
        return;
    };
    app.import_contoso().await;
    challenges_until_refused(&app, 2, "email", "challenges_per_org").await;
    // The test clock starts just past the top of an hour; one window on,
    // the count starts again.
    app.clock.advance(app.settings.limits.window.0);
    let call_id = contoso_call(&app, 10).await;
    let (status, body) = ask_challenge(&app, &call_id, "email").await;
    assert_eq!(status, StatusCode::CREATED, "a new window: {body}");
    app.shutdown().await;
}
on_both_engines!(
    challenges_per_org_refuses_then_the_next_window_frees_it,
    challenges_per_org_refuses_then_the_next_window_frees_it
);

async fn challenges_per_agent_refuses(engine: Engine, test: &str) {
    let opts = with(|s| s.limits.challenges_per_agent = 2);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    challenges_until_refused(&app, 2, "email", "challenges_per_agent").await;
    app.shutdown().await;
}
on_both_engines!(challenges_per_agent_refuses, challenges_per_agent_refuses);

async fn sends_per_destination_refuses(engine: Engine, test: &str) {
    let opts = with(|s| s.limits.sends_per_destination = 2);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    challenges_until_refused(&app, 2, "email", "sends_per_destination").await;
    app.shutdown().await;
}
on_both_engines!(sends_per_destination_refuses, sends_per_destination_refuses);

async fn sms_global_refuses(engine: Engine, test: &str) {
    let opts = with(|s| s.limits.sms_global = 1);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    challenges_until_refused(&app, 1, "sms", "sms_global").await;
    // Email is not SMS: the org is still served.
    let call_id = contoso_call(&app, 5).await;
    assert_eq!(
        ask_challenge(&app, &call_id, "email").await.0,
        StatusCode::CREATED
    );
    app.shutdown().await;
}
on_both_engines!(sms_global_refuses, sms_global_refuses);

const NORTHWIND: &str = r#"
[[org]]
id = "northwind"
name = "Northwind Traders"
account_number = "60012345"
registered_numbers = ["+14155550160"]
channels = ["email"]
[org.contacts]
email = "it@northwind.example"
"#;

async fn orgs_per_agent_refuses(engine: Engine, test: &str) {
    let opts = with(|s| s.limits.orgs_per_agent = 1);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    app.import_toml(NORTHWIND).await;
    let first = contoso_call(&app, 0).await;
    assert_eq!(
        ask_challenge(&app, &first, "email").await.0,
        StatusCode::CREATED
    );
    let other = app.new_call("+14155550161", None).await;
    assert_eq!(app.set_org(&other, "northwind").await.0, StatusCode::OK);
    let refused = ask_challenge(&app, &other, "email").await;
    assert_refused_by(&app, refused, "orgs_per_agent").await;
    app.shutdown().await;
}
on_both_engines!(orgs_per_agent_refuses, orgs_per_agent_refuses);

/// `limit` wrong PINs on challenges of distinct callers are evaluated; the
/// next check is refused by `quota` and spends no attempt.
async fn checks_until_refused(app: &TestApp, limit: usize, quota: &str) {
    let mut challenges = Vec::new();
    for n in 0..=limit {
        let call_id = contoso_call(app, n).await;
        let (status, body) = ask_challenge(app, &call_id, "email").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let pin = app.pin_from_email(n + 1).await;
        let wrong = if pin == "000000" { "111111" } else { "000000" };
        challenges.push((body["challenge_id"].as_str().unwrap().to_string(), wrong));
    }
    let (last, wrong) = challenges.pop().unwrap();
    for (challenge_id, wrong) in &challenges {
        let (status, body) = app.check(challenge_id, wrong).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "pending", "{body}");
    }
    let refused = app.check(&last, wrong).await;
    assert_refused_by(app, refused, quota).await;
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{last}"))
        .await;
    assert_eq!(
        ch["attempts_left"],
        json!(app.settings.pin.max_attempts),
        "a refused check spends no attempt: {ch}"
    );
}

async fn checks_per_org_refuses(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, with(|s| s.limits.checks_per_org = 2)).await
    else {
        return;
    };
    app.import_contoso().await;
    checks_until_refused(&app, 2, "checks_per_org").await;
    app.shutdown().await;
}
on_both_engines!(checks_per_org_refuses, checks_per_org_refuses);

async fn checks_per_agent_refuses(engine: Engine, test: &str) {
    let opts = with(|s| s.limits.checks_per_agent = 2);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    checks_until_refused(&app, 2, "checks_per_agent").await;
    app.shutdown().await;
}
on_both_engines!(checks_per_agent_refuses, checks_per_agent_refuses);

#[tokio::test]
async fn checks_per_caller_are_capped_across_challenges() {
    let opts = Options {
        tweak: Box::new(|s| {
            s.limits.checks_per_caller = 3;
            s.limits.failures_per_caller = 100;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, "checks per caller", opts).await else {
        return;
    };
    app.import_contoso().await;
    let (_, challenge_id, pin) = app.pending_pin(1).await;
    let wrong = wrong_pin(&pin);
    for _ in 0..3 {
        let (s, _) = app.check(&challenge_id, wrong).await;
        assert_eq!(s, StatusCode::OK);
    }
    // The fourth check, even with the right PIN, is refused before it is evaluated.
    let (s, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{r}");
    assert!(
        r["detail"].as_str().unwrap().contains("checks_per_caller"),
        "{r}"
    );
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
        .await;
    assert_eq!(ch["attempts_left"], 2);
    app.shutdown().await;
}
