//! Abuse resistance: race-proof budgets, quotas, lockouts that do not deny
//! an organisation its support, replays, the flood shield, and the rule that
//! every PIN goes through the one verifier.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, call_sid, wrong_pin};

async fn count_events(app: &TestApp, kind: &str) -> usize {
    app.events(kind).await.len()
}

/// Quotas out of the way (the pool stays small: see `TestApp`).
fn generous(s: &mut pingate::config::Settings) {
    s.limits.checks_per_agent = 100_000;
    s.limits.checks_per_caller = 100_000;
    s.limits.checks_per_org = 100_000;
    s.limits.failures_per_caller = 100;
    // A thousand checks queue behind one writer; on a loaded 2-core CI
    // machine the last ones wait longer than the default 15 s, and a check
    // cut short by the timeout is answered 408 although it may hold one of
    // the budget's attempts. These tests count the budget, not latency.
    s.server.request_timeout = pingate::config::HumanDuration(std::time::Duration::from_secs(300));
    // These races test the database's attempt budget, so every guess must
    // reach it; the hashing cap per principal has its own tests
    // (hardening::hash_pool).
    s.pin.hash_per_principal = 10_000;
    s.pin.hash_queue = 10_000;
}

/// Sends `n` checks at once (released together behind a barrier).
async fn concurrent_checks(
    app: &TestApp,
    challenge_id: &str,
    pin: &str,
    n: usize,
) -> Vec<(StatusCode, Value)> {
    let barrier = Arc::new(Barrier::new(n));
    let url = app.url(&format!("/v1/challenges/{challenge_id}/check"));
    // These tests count the budget, not latency: a thousand checks queue
    // behind one writer, so on loaded cores the last answers can take
    // longer than the shared client's 30 s (as the server's request
    // timeout is raised for them; see `generous`).
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .expect("client");
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (client, url, token, barrier, pin) = (
            client.clone(),
            url.clone(),
            app.agent_token.clone(),
            Arc::clone(&barrier),
            pin.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"pin": pin}))
                .send()
                .await
                .expect("request");
            crate::support::app::split(resp).await
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

async fn concurrent_wrong_guesses_never_exceed_the_budget(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(generous),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let (_, challenge_id, pin) = app.pending_pin(1).await;
    let wrong = wrong_pin(&pin);

    let results = concurrent_checks(&app, &challenge_id, wrong, 1000).await;
    let evaluated = results
        .iter()
        .filter(|(s, v)| {
            *s == StatusCode::OK && (v["status"] == "pending" || v["status"] == "locked")
        })
        .count();
    let server_errors = results.iter().filter(|(s, _)| s.is_server_error()).count();
    eprintln!(
        "{test}: 1000 concurrent wrong guesses -> {evaluated} evaluated, {server_errors} 5xx"
    );
    assert_eq!(server_errors, 0);
    assert_eq!(evaluated, 5, "exactly the budget is evaluated");
    assert_eq!(
        count_events(&app, "authn_pin_fail").await + count_events(&app, "authn_pin_lock").await,
        5
    );
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
        .await;
    assert_eq!(ch["status"], "locked");
    // Even the right PIN is refused now.
    let (status, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    let (status, _) = app.get(&app.agent_token, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    app.shutdown().await;
}
on_both_engines!(
    concurrent_wrong_guesses_never_exceed_the_budget,
    concurrent_wrong_guesses_never_exceed_the_budget
);

async fn concurrent_right_guesses_approve_exactly_once(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(generous),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let (call_id, challenge_id) = app.pending_challenge("+14155550123").await;
    let pin = app.pin_from_email(1).await;

    let results = concurrent_checks(&app, &challenge_id, &pin, 200).await;
    let approved = results
        .iter()
        .filter(|(_, v)| v["status"] == "approved")
        .count();
    let server_errors = results.iter().filter(|(s, _)| s.is_server_error()).count();
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for (s, v) in &results {
        let what = v["status"].as_str().or(v["type"].as_str()).unwrap_or("?");
        *answers.entry(format!("{} {what}", s.as_u16())).or_default() += 1;
    }
    eprintln!("{test}: 200 concurrent right guesses -> {answers:?}");
    assert_eq!(server_errors, 0);
    assert_eq!(approved, 1);
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["grants"].as_array().unwrap().len(), 1);
    assert_eq!(count_events(&app, "grant_issued").await, 1);
    app.shutdown().await;
}
on_both_engines!(
    concurrent_right_guesses_approve_exactly_once,
    concurrent_right_guesses_approve_exactly_once
);

async fn concurrent_wrong_guesses_cross_the_caller_lockout_once(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| {
            generous(s);
            s.limits.failures_per_caller = 3;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let (_, challenge_id, pin) = app.pending_pin(1).await;
    let wrong = wrong_pin(&pin);

    // The lockout queues notices inside the check's transaction.
    let results = concurrent_checks(&app, &challenge_id, wrong, 100).await;
    let stalled = results
        .iter()
        .filter(|(s, _)| s.is_server_error() || *s == StatusCode::REQUEST_TIMEOUT)
        .count();
    assert_eq!(stalled, 0, "no check fails or times out");
    let evaluated = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert!(
        (3..=5).contains(&evaluated),
        "the lockout stops evaluation after the third failure, give or take the two attempts \
         already reserved: {evaluated}"
    );
    assert_eq!(count_events(&app, "authn_pin_lockout").await, 1);
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
        .await;
    assert_eq!(ch["status"], "locked");
    app.shutdown().await;
}
on_both_engines!(
    concurrent_wrong_guesses_cross_the_caller_lockout_once,
    concurrent_wrong_guesses_cross_the_caller_lockout_once
);

async fn failures_follow_the_caller_and_lock_without_denying_the_org(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| s.limits.failures_per_caller = 3),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    // A grant from before the lockout.
    let trusted_call = app
        .new_call("+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let (_, g) = app.grant(&trusted_call).await;
    let old_token = g["grant"]["token"].as_str().unwrap().to_string();

    // Wrong PINs spread over two calls and a new challenge: the count follows
    // the caller, not the challenge.
    let attacker = "+14155550123";
    let (_, c1) = app.pending_challenge(attacker).await;
    let pin = app.pin_from_email(2).await;
    let wrong = wrong_pin(&pin);
    for _ in 0..2 {
        let (s, r) = app.check(&c1, wrong).await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("pending")));
    }
    let (_, c2) = app.pending_challenge(attacker).await;
    let (s, r) = app.check(&c2, wrong).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        r["status"], "locked",
        "third failure of this caller locks: {r}"
    );
    assert_eq!(count_events(&app, "authn_pin_lockout").await, 1);

    // The caller can get no new PIN; the refusal is a 429 naming the lockout.
    let call_id = app.new_call(attacker, None).await;
    app.set_org(&call_id, "contoso").await;
    let resp = app
        .post_raw(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("pin_lockout"),
        "{body}"
    );

    // ...but the org keeps its support: another caller, the trusted number,
    // and the existing grant all still work.
    app.pending_challenge("+14155550124").await;
    let c = app
        .new_call("+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let (s, _) = app.grant(&c).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, i) = app
        .post(
            &app.agent_token,
            "/v1/grants/introspect",
            json!({"token": old_token}),
        )
        .await;
    assert_eq!(i["active"], true);

    // The org hears about the lockout.
    let mails = app
        .smtp
        .wait_for(6, std::time::Duration::from_secs(20))
        .await;
    assert!(
        mails
            .iter()
            .any(|m| m.body_text().contains("too many wrong")),
        "lockout notice sent"
    );

    // An admin resets it (audited); the caller can be challenged again.
    let (s, r) = app
        .post(
            &app.admin_token,
            "/v1/lockouts/reset",
            json!({"org_id": "contoso", "caller": attacker}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["reset"].as_array().unwrap().len(), 1);
    assert_eq!(count_events(&app, "authn_pin_lockout_reset").await, 1);
    let (s, _) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.shutdown().await;
}
on_both_engines!(
    failures_follow_the_caller_and_lock_without_denying_the_org,
    failures_follow_the_caller_and_lock_without_denying_the_org
);

async fn challenge_quota_refuses_with_retry_after_and_an_audit_event(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| s.limits.challenges_per_caller = 2),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let (call_id, _) = app.pending_challenge("+14155550123").await;
    let (s, _) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let resp = app
        .post_raw(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry));
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let (_, ev) = app
        .get(
            &app.reviewer_token,
            "/v1/audit?kind=excess_rate_limit_exceeded",
        )
        .await;
    assert_eq!(ev["items"][0]["detail"]["quota"], "challenges_per_caller");
    // The refused request changed nothing: still two challenges.
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["challenges"].as_array().unwrap().len(), 2);
    app.shutdown().await;
}
on_both_engines!(
    challenge_quota_refuses_with_retry_after_and_an_audit_event,
    challenge_quota_refuses_with_retry_after_and_an_audit_event
);

#[tokio::test]
async fn sms_outside_the_allowed_countries_is_refused_and_audited() {
    let Some(app) = TestApp::spawn(Engine::Sqlite, "sms allow-list").await else {
        return;
    };
    app.import_toml(
        r#"
[[org]]
id = "far"
name = "Far Away Co"
account_number = "5550001"
registered_numbers = ["+8613800138000"]
channels = ["sms"]
[org.contacts]
sms = "+8613800138001"
"#,
    )
    .await;
    let call_id = app.new_call("+14155550123", None).await;
    app.set_org(&call_id, "far").await;
    let (s, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": "sms"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert!(r["detail"].as_str().unwrap().contains("CN"), "{r}");
    assert_eq!(count_events(&app, "sms_destination_refused").await, 1);
    assert_eq!(app.sms.requests_seen(), 0);
    app.shutdown().await;
}

#[tokio::test]
async fn replayed_gather_and_status_deliveries_change_nothing() {
    let Some(app) = TestApp::spawn(Engine::Sqlite, "replays").await else {
        return;
    };
    app.import_contoso().await;
    let sid = call_sid();
    app.call(&sid, "+14155550123", None).await;
    let url = app.url("/webhooks/twilio/gather");
    let params = [("CallSid", sid.as_str()), ("Digits", "999")];
    let sig =
        crate::support::twilio_signer::sign_form(&url, &params, crate::support::app::AUTH_TOKEN);
    for _ in 0..3 {
        let resp = app
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", &sig)
            .header("i-twilio-idempotency-token", "tok-1")
            .body(crate::support::twilio_signer::form_body(&params))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    assert_eq!(
        count_events(&app, "call_org_not_found").await,
        1,
        "one delivery, applied once"
    );

    let status = [
        ("CallSid", sid.as_str()),
        ("CallStatus", "completed"),
        ("SequenceNumber", "3"),
    ];
    for _ in 0..3 {
        let resp = app.webhook("/webhooks/twilio/status", &status).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(count_events(&app, "call_ended").await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn the_flood_shield_answers_429_with_retry_after() {
    let opts = Options {
        tweak: Box::new(|s| {
            s.limits.webhook_per_second = 1;
            s.limits.webhook_burst = 3;
            // These webhooks are signed: their own budget is the one spent.
            s.limits.webhook_signed_per_second = 1;
            s.limits.webhook_signed_burst = 3;
            s.limits.api_per_second = 1;
            s.limits.api_burst = 3;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, "flood", opts).await else {
        return;
    };
    // The buckets start full (3 each) and refill by one a second: the
    // burst must get through, and no more than the refills since then.
    let started = std::time::Instant::now();
    let (mut webhook, mut api) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let r = app
            .webhook(
                "/webhooks/twilio/status",
                &[("CallSid", &call_sid()), ("CallStatus", "ringing")],
            )
            .await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
        }
        webhook.push(r.status());
        let (s, _) = app.get(&app.agent_token, "/v1/calls").await;
        api.push(s);
    }
    let refills = started.elapsed().as_secs() as usize + 1;
    for (what, answers) in [("webhooks", &webhook), ("api", &api)] {
        assert!(
            answers[..3].iter().all(|s| s.is_success()),
            "{what}: the burst gets through: {answers:?}"
        );
        let passed = answers.iter().filter(|s| s.is_success()).count();
        let refused = answers
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(passed + refused, answers.len(), "{what}: {answers:?}");
        assert!(
            passed <= 3 + refills,
            "{what}: {passed} passed, more than the burst and {refills} refills: {answers:?}"
        );
    }
    let (s, _) = app.get(&app.agent_token, "/healthz").await;
    assert_eq!(s, StatusCode::OK, "operations routes are not shielded");
    app.shutdown().await;
}

/// Every route that accepts a PIN goes through the one verifier: the only
/// route whose body may carry `pin` is the check route, and the only code
/// that parses a PIN from input is `service::challenges::check`.
#[tokio::test]
async fn only_the_check_route_accepts_a_pin() {
    let Some(app) = TestApp::spawn(Engine::Sqlite, "pin routes").await else {
        return;
    };
    app.import_contoso().await;
    let (call_id, challenge_id) = app.pending_challenge("+14155550123").await;
    // The OpenAPI document lists exactly the router's routes (openapi.rs
    // checks that against the source).
    let doc: Value = serde_json::from_str(pingate::http::openapi::json()).unwrap();
    let routes: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(|m| (m.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(routes.len() > 20, "routes found: {routes:?}");
    let pin = app.pin_from_email(1).await;
    let mut tried = 0;
    for (_, path) in routes
        .iter()
        .filter(|(m, p)| m == "post" && p.starts_with("/v1/") && !p.ends_with("/check"))
    {
        let concrete = path
            .replace("{call_id}", &call_id)
            .replace("{challenge_id}", &challenge_id)
            .replace("{grant_id}", "grt_00000000000000000000000000000000")
            .replace("{org_id}", "contoso")
            .replace("{number}", "+14155550100");
        for token in [&app.agent_token, &app.admin_token, &app.reviewer_token] {
            let (s, body) = app.post(token, &concrete, json!({"pin": pin})).await;
            assert!(!s.is_server_error(), "{path}: {s} {body}");
            tried += 1;
        }
    }
    assert!(tried > 20);
    // No other route evaluated the PIN: nothing spent, nothing approved.
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
        .await;
    assert_eq!(
        (ch["status"].as_str(), ch["attempts_left"].as_i64()),
        (Some("pending"), Some(5)),
        "{ch}"
    );
    for kind in ["authn_pin_fail", "authn_pin_success", "authn_pin_lock"] {
        assert_eq!(count_events(&app, kind).await, 0, "{kind}");
    }
    let (s, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(
        (s, r["status"].as_str()),
        (StatusCode::OK, Some("approved"))
    );

    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut parsers = Vec::new();
    for entry in walk(std::path::Path::new(src)) {
        let text = std::fs::read_to_string(&entry).unwrap();
        if text.contains("Pin::parse_input(")
            && !entry.ends_with("domain/pin.rs")
            && !entry.ends_with("tests.rs")
        {
            parsers.push(entry.display().to_string());
        }
    }
    assert_eq!(parsers.len(), 1, "{parsers:?}");
    assert!(parsers[0].ends_with("service/challenges.rs"));
    app.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}
