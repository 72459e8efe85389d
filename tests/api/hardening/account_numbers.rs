//! Item 8: IVR account numbers cannot be enumerated across calls. Each
//! caller (their number, or every withheld caller together) and each
//! account number has a budget of attempts; a refused attempt is audited
//! and sounds exactly like an unknown number.

use reqwest::StatusCode;

use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, call_sid};

const GATHER: &str = "/webhooks/twilio/gather";
/// Contoso's account number.
const CONTOSO: &str = "40012345";

fn with(tweak: impl FnOnce(&mut pingate::config::Settings) + Send + 'static) -> Options {
    Options {
        tweak: Box::new(tweak),
        ..Options::default()
    }
}

/// A new call from `from`; returns its CallSid.
async fn ring(app: &TestApp, from: &str) -> String {
    let sid = call_sid();
    app.call(&sid, from, None).await;
    sid
}

/// The caller keys `digits`; returns what they hear.
async fn keys(app: &TestApp, sid: &str, digits: &str) -> String {
    let resp = app
        .webhook(GATHER, &[("CallSid", sid), ("Digits", digits)])
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.expect("TwiML")
}

async fn org_of(app: &TestApp, sid: &str) -> serde_json::Value {
    let call_id = app.call_id_for(sid).await;
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    call["org_id"].clone()
}

/// The quotas named by the refusals audited so far.
async fn refusals(app: &TestApp) -> Vec<String> {
    app.events("excess_rate_limit_exceeded")
        .await
        .iter()
        .map(|e| e["detail"]["quota"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn a_caller_cannot_go_on_trying_account_numbers_across_calls(engine: Engine, test: &str) {
    let opts = with(|s| s.limits.account_tries_per_caller = 3);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let first = ring(&app, "+14155558000").await;
    let unknown_answer = keys(&app, &first, "11111111").await;
    keys(&app, &first, "22222222").await;
    keys(&app, &first, "33333333").await;
    // A new call from the same number: even the right number is refused,
    // and the caller hears what an unknown number gets.
    let second = ring(&app, "+14155558000").await;
    assert_eq!(keys(&app, &second, CONTOSO).await, unknown_answer);
    assert_eq!(org_of(&app, &second).await, serde_json::Value::Null);
    assert_eq!(refusals(&app).await, ["account_tries_per_caller"]);
    // Another caller is not touched.
    let other = ring(&app, "+14155558001").await;
    keys(&app, &other, CONTOSO).await;
    assert_eq!(org_of(&app, &other).await, "contoso");
    app.shutdown().await;
}
on_both_engines!(
    a_caller_cannot_go_on_trying_account_numbers_across_calls,
    a_caller_cannot_go_on_trying_account_numbers_across_calls
);

async fn withheld_callers_share_one_budget_of_attempts(engine: Engine, test: &str) {
    let opts = with(|s| s.limits.account_tries_withheld = 2);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let first = ring(&app, "anonymous").await;
    let unknown_answer = keys(&app, &first, "11111111").await;
    keys(&app, &first, "22222222").await;
    let second = ring(&app, "restricted").await;
    assert_eq!(keys(&app, &second, CONTOSO).await, unknown_answer);
    assert_eq!(org_of(&app, &second).await, serde_json::Value::Null);
    assert_eq!(refusals(&app).await, ["account_tries_withheld"]);
    app.shutdown().await;
}
on_both_engines!(
    withheld_callers_share_one_budget_of_attempts,
    withheld_callers_share_one_budget_of_attempts
);

async fn one_account_number_has_a_budget_across_callers(engine: Engine, test: &str) {
    let opts = with(|s| s.limits.account_tries_per_number = 2);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    for n in 0..2 {
        let sid = ring(&app, &format!("+141555581{n:02}")).await;
        keys(&app, &sid, CONTOSO).await;
        assert_eq!(org_of(&app, &sid).await, "contoso");
    }
    let probe = ring(&app, "+14155558150").await;
    let unknown_answer = keys(&app, &probe, "99999999").await;
    let third = ring(&app, "+14155558151").await;
    assert_eq!(keys(&app, &third, CONTOSO).await, unknown_answer);
    assert_eq!(org_of(&app, &third).await, serde_json::Value::Null);
    assert_eq!(refusals(&app).await, ["account_tries_per_number"]);
    app.shutdown().await;
}
on_both_engines!(
    one_account_number_has_a_budget_across_callers,
    one_account_number_has_a_budget_across_callers
);
