//! Item 7: one caller cannot take an org's PIN support away. Windows roll
//! (twice the quota never fits across an edge), withheld callers share a
//! budget of their own that calling again does not reset, an org has a
//! ceiling of failed checks that alerts its contacts and the admins, and
//! an org past its budget is still served through its trusted numbers and
//! an audited admin override.

use std::time::Duration;

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

/// A contoso call from `from` (attached by the agent); returns its id.
async fn contoso_call(app: &TestApp, from: &str) -> String {
    let call_id = app.new_call(from, None).await;
    let (status, body) = app.set_org(&call_id, "contoso").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    call_id
}

async fn ask_pin(app: &TestApp, call_id: &str) -> (StatusCode, Value) {
    app.post(
        &app.agent_token,
        &format!("/v1/calls/{call_id}/challenges"),
        json!({ "channel": "email" }),
    )
    .await
}

fn assert_refused(answer: &(StatusCode, Value), quota: &str) {
    let (status, body) = answer;
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{quota}: {body}");
    assert!(
        body["detail"].as_str().unwrap_or("").contains(quota),
        "{quota}: {body}"
    );
}

/// One wrong PIN on a new challenge for a call from `from`.
async fn one_wrong_pin(app: &TestApp, from: &str, nth_mail: usize) {
    let call_id = contoso_call(app, from).await;
    let (status, ch) = ask_pin(app, &call_id).await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let pin = app.pin_from_email(nth_mail).await;
    let id = ch["challenge_id"].as_str().expect("id");
    let (status, body) = app.check(id, wrong_pin(&pin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn twice_the_quota_across_a_window_edge_is_refused(engine: Engine, test: &str) {
    let Some(app) =
        TestApp::spawn_with(engine, test, with(|s| s.limits.challenges_per_org = 2)).await
    else {
        return;
    };
    app.import_contoso().await;
    // The test clock starts just past the top of an hour: go to just
    // before the next one, where a fixed hourly window would end.
    let window = app.settings.limits.window.0;
    app.clock.advance(window - Duration::from_secs(60));
    for n in 0..2 {
        let call_id = contoso_call(&app, &format!("+141555571{n:02}")).await;
        assert_eq!(ask_pin(&app, &call_id).await.0, StatusCode::CREATED);
    }
    app.clock.advance(Duration::from_secs(120));
    let call_id = contoso_call(&app, "+14155557150").await;
    assert_refused(&ask_pin(&app, &call_id).await, "challenges_per_org");
    // A whole window after those two, the quota is free again.
    app.clock.advance(window - Duration::from_secs(30));
    assert_eq!(ask_pin(&app, &call_id).await.0, StatusCode::CREATED);
    app.shutdown().await;
}
on_both_engines!(
    twice_the_quota_across_a_window_edge_is_refused,
    twice_the_quota_across_a_window_edge_is_refused
);

async fn a_withheld_caller_cannot_reset_its_lockout_by_calling_again(engine: Engine, test: &str) {
    let Some(app) =
        TestApp::spawn_with(engine, test, with(|s| s.limits.failures_per_caller = 2)).await
    else {
        return;
    };
    app.import_contoso().await;
    let call_id = contoso_call(&app, "anonymous").await;
    let (_, ch) = ask_pin(&app, &call_id).await;
    let id = ch["challenge_id"].as_str().expect("id").to_string();
    let pin = app.pin_from_email(1).await;
    app.check(&id, wrong_pin(&pin)).await;
    let (_, locked) = app.check(&id, wrong_pin(&pin)).await;
    assert_eq!(locked["status"], "locked", "{locked}");
    let lockouts = app.events("authn_pin_lockout").await;
    assert_eq!(lockouts.len(), 1);
    assert_eq!(lockouts[0]["detail"]["caller"], "withheld");
    // A new call without caller id is the same withheld caller.
    let again = contoso_call(&app, "+266696687").await;
    assert_refused(&ask_pin(&app, &again).await, "pin_lockout");
    // A caller with a number is not touched.
    let other = contoso_call(&app, "+14155557200").await;
    assert_eq!(ask_pin(&app, &other).await.0, StatusCode::CREATED);
    // An admin ends the withheld callers' lockout by its key.
    let reset = json!({ "org_id": "contoso", "caller": "withheld" });
    let (status, body) = app
        .post(&app.admin_token, "/v1/lockouts/reset", reset)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reset"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(ask_pin(&app, &again).await.0, StatusCode::CREATED);
    app.shutdown().await;
}
on_both_engines!(
    a_withheld_caller_cannot_reset_its_lockout_by_calling_again,
    a_withheld_caller_cannot_reset_its_lockout_by_calling_again
);

async fn withheld_callers_never_spend_the_orgs_budget(engine: Engine, test: &str) {
    let opts = with(|s| {
        s.limits.challenges_per_org = 2;
        s.limits.challenges_per_caller = 10;
    });
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    for _ in 0..2 {
        let call_id = contoso_call(&app, "anonymous").await;
        assert_eq!(ask_pin(&app, &call_id).await.0, StatusCode::CREATED);
    }
    let call_id = contoso_call(&app, "restricted").await;
    assert_refused(&ask_pin(&app, &call_id).await, "challenges_per_org");
    for n in 0..2 {
        let call_id = contoso_call(&app, &format!("+141555573{n:02}")).await;
        let (status, body) = ask_pin(&app, &call_id).await;
        assert_eq!(status, StatusCode::CREATED, "identified caller {n}: {body}");
    }
    app.shutdown().await;
}
on_both_engines!(
    withheld_callers_never_spend_the_orgs_budget,
    withheld_callers_never_spend_the_orgs_budget
);

async fn override_as(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.post(token, "/v1/orgs/contoso/override", body).await
}

async fn the_org_failure_ceiling_refuses_alerts_and_yields_to_trust_and_override(
    engine: Engine,
    test: &str,
) {
    let opts = with(|s| {
        s.limits.failures_per_org = 3;
        s.limits.alert_emails = vec!["secops@pingate.test".into()];
    });
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    for n in 0..3 {
        one_wrong_pin(&app, &format!("+141555574{n:02}"), n + 1).await;
    }
    let ceiling = app.events("authn_pin_org_ceiling").await;
    assert_eq!(ceiling.len(), 1, "audited once: {ceiling:?}");
    assert_eq!(ceiling[0]["org_id"], "contoso");
    assert_eq!(ceiling[0]["detail"]["failures"], 3);
    // The org's contact and the admins hear of it (after the three PINs).
    let mails = app.smtp.wait_for(5, Duration::from_secs(20)).await;
    let alerted: Vec<_> = mails[3..].iter().flat_map(|m| m.to.clone()).collect();
    assert!(
        alerted
            .iter()
            .any(|t| t.contains("it-admin@contoso.example")),
        "{alerted:?}"
    );
    assert!(
        alerted.iter().any(|t| t.contains("secops@pingate.test")),
        "{alerted:?}"
    );
    assert!(
        mails[3].body_text().contains("No new verification codes"),
        "{}",
        mails[3].body_text()
    );

    // No new PIN for anyone with a number...
    let refused = contoso_call(&app, "+14155557450").await;
    assert_refused(&ask_pin(&app, &refused).await, "org_failure_ceiling");
    // ...but withheld callers have their own budget, and the trusted
    // number is still served.
    let withheld = contoso_call(&app, "anonymous").await;
    assert_eq!(ask_pin(&app, &withheld).await.0, StatusCode::CREATED);
    let trusted = app
        .new_call("+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let (status, body) = app.grant(&trusted).await;
    assert_eq!(status, StatusCode::CREATED, "trusted number: {body}");

    // An agent cannot override; an admin can, with a reason, briefly.
    let ask = json!({ "reason": "customer verified by account manager", "minutes": 15 });
    let (status, _) = override_as(&app, &app.agent_token, ask.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let too_long = json!({ "reason": "x", "minutes": 24 * 60 });
    let (status, body) = override_as(&app, &app.admin_token, too_long).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let no_reason = json!({ "reason": "  ", "minutes": 15 });
    let (status, body) = override_as(&app, &app.admin_token, no_reason).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, o) = override_as(&app, &app.admin_token, ask).await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    let granted = app.events("org_override_granted").await;
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0]["actor"], "admin:adam");
    assert_eq!(granted[0]["detail"]["override_id"], o["override_id"]);
    assert_eq!(
        granted[0]["detail"]["reason"],
        "customer verified by account manager"
    );
    let (status, body) = ask_pin(&app, &refused).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "served under the override: {body}"
    );
    let created = app.events("challenge_created").await;
    let last = created.last().expect("created");
    assert_eq!(last["detail"]["override_id"], o["override_id"], "{last}");
    // When it expires, the ceiling refuses again.
    app.clock.advance(Duration::from_secs(16 * 60));
    let later = contoso_call(&app, "+14155557451").await;
    assert_refused(&ask_pin(&app, &later).await, "org_failure_ceiling");
    // Resetting the ceiling (`*`) ends it and forgets the org's failures.
    let reset = json!({ "org_id": "contoso", "caller": "*" });
    let (status, body) = app
        .post(&app.admin_token, "/v1/lockouts/reset", reset)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reset"][0]["caller"], "*", "{body}");
    assert_eq!(ask_pin(&app, &later).await.0, StatusCode::CREATED);
    app.shutdown().await;
}
on_both_engines!(
    the_org_failure_ceiling_refuses_alerts_and_yields_to_trust_and_override,
    the_org_failure_ceiling_refuses_alerts_and_yields_to_trust_and_override
);

#[test]
fn the_org_failure_ceiling_is_at_most_100() {
    let mut s = pingate::config::Settings::default();
    s.limits.failures_per_org = 101;
    let err = s.validate().expect_err("refused");
    assert!(err.to_string().contains("limits.failures_per_org"), "{err}");
}
