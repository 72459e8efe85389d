//! `/metrics` counts what happened: each counter is read as a value before
//! and after the actions that move it, and the gauges say what the outbox
//! holds. The recorder is process-wide, so these tests run alone
//! (`Options::alone`): no other server of this binary moves a counter
//! while they read.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, call_sid};

/// Every sample of `/metrics` as (series with labels, value).
async fn samples(app: &TestApp) -> Vec<(String, f64)> {
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The value of one series (0 when it has not been recorded yet).
fn value(samples: &[(String, f64)], series: &str) -> f64 {
    samples
        .iter()
        .find(|(s, _)| s == series)
        .map_or(0.0, |(_, v)| *v)
}

/// The sum over every label set of a metric.
fn total(samples: &[(String, f64)], name: &str) -> f64 {
    samples
        .iter()
        .filter(|(s, _)| s == name || s.starts_with(&format!("{name}{{")))
        .map(|(_, v)| v)
        .sum()
}

fn alone(tweak: impl FnOnce(&mut pingate::config::Settings) + Send + 'static) -> Options {
    Options {
        tweak: Box::new(tweak),
        alone: true,
        ..Options::default()
    }
}

async fn counters_move_by_exactly_what_happened(engine: Engine, test: &str) {
    let opts = alone(|s| s.limits.challenges_per_org = 2);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let before = samples(&app).await;

    // A PIN-required call, and the same webhook again (a replay).
    let sid = call_sid();
    app.call(&sid, "+14155550100", None).await;
    app.call(&sid, "+14155550100", None).await;
    let call_id = app.call_id_for(&sid).await;
    // A forged webhook.
    let forged = app
        .client
        .post(app.url("/webhooks/twilio/voice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .body("CallSid=CAforged&From=%2B14155550100")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // One challenge, a wrong PIN, the right one (and its grant).
    let challenge_id = app.challenge(&call_id, "email").await;
    let pin = app.pin_from_email(1).await;
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    assert_eq!(app.check(&challenge_id, wrong).await.1["status"], "pending");
    assert_eq!(app.check(&challenge_id, &pin).await.1["status"], "approved");
    // A second call's challenge is the org's second; the third is refused.
    let other = app.new_call("+14155550100", None).await;
    app.challenge(&other, "email").await;
    let third = app.new_call("+14155550100", None).await;
    let (status, body) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{third}/challenges"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");

    let after = samples(&app).await;
    let delta = |series: &str| value(&after, series) - value(&before, series);
    let calls = |replay: &str| {
        format!(r#"pingate_calls_total{{verification="pin_required",replay="{replay}"}}"#)
    };
    assert_eq!(delta(&calls("no")), 3.0, "three calls");
    assert_eq!(delta(&calls("yes")), 1.0, "one replay");
    assert_eq!(
        delta(r#"pingate_webhook_rejected_total{provider="twilio"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"pingate_challenges_total{channel="email"}"#),
        2.0,
        "the refused challenge is not counted"
    );
    assert_eq!(delta(r#"pingate_pin_checks_total{outcome="wrong"}"#), 1.0);
    assert_eq!(
        delta(r#"pingate_pin_checks_total{outcome="approved"}"#),
        1.0
    );
    assert_eq!(delta(r#"pingate_grants_total{basis="pin"}"#), 1.0);
    assert_eq!(
        delta(r#"pingate_quota_refusals_total{quota="challenges_per_org"}"#),
        1.0
    );
    app.shutdown().await;
}
on_both_engines!(
    counters_move_by_exactly_what_happened,
    counters_move_by_exactly_what_happened
);

async fn flood_refusals_count_each_refused_request(engine: Engine, test: &str) {
    let opts = alone(|s| {
        s.limits.api_per_second = 1;
        s.limits.api_burst = 3;
    });
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    let before = samples(&app).await;
    let mut refused = 0;
    for _ in 0..10 {
        let resp = app
            .get_raw(&app.agent_token, "/v1/calls?status=active")
            .await;
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused > 0, "the burst of 3 was exceeded");
    let after = samples(&app).await;
    assert_eq!(
        total(&after, "pingate_flood_refusals_total")
            - total(&before, "pingate_flood_refusals_total"),
        f64::from(refused)
    );
    app.shutdown().await;
}
on_both_engines!(
    flood_refusals_count_each_refused_request,
    flood_refusals_count_each_refused_request
);

/// The gauges describe this server's outbox: three PINs that the relay
/// keeps refusing (a long backoff between tries) stay queued, the oldest
/// as old as the clock says.
async fn gauges_show_the_queued_outbox(engine: Engine, test: &str) {
    let opts = alone(|s| {
        s.delivery.backoff_base = pingate::config::HumanDuration(Duration::from_secs(600));
        s.delivery.backoff_cap = pingate::config::HumanDuration(Duration::from_secs(600));
    });
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    app.smtp.fail_next(1000, 451, "4.3.0 try again later");
    for n in 0..3 {
        let call = app
            .new_call(&format!("+1415555{:04}", 7000 + n), None)
            .await;
        assert_eq!(app.set_org(&call, "contoso").await.0, StatusCode::OK);
        app.challenge(&call, "email").await;
    }
    app.clock.advance(Duration::from_secs(120));
    let now = samples(&app).await;
    assert_eq!(value(&now, "pingate_outbox_queued"), 3.0, "{now:?}");
    let oldest = value(&now, "pingate_outbox_oldest_age_seconds");
    assert!((120.0..600.0).contains(&oldest), "{oldest}");
    app.shutdown().await;
}
on_both_engines!(gauges_show_the_queued_outbox, gauges_show_the_queued_outbox);
