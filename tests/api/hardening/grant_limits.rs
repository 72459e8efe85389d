//! Issue 8 item 4: a trusted call gives one active grant per (call,
//! agent), whoever races; trusted grants spend the agent's quotas as
//! challenges do, and their notices count as messages.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::ownership::second_agent;
use crate::errors::{audit_events, expect_problem};
use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp};

const TRUSTED: &str = "TN-Validation-Passed-A";

async fn trusted_call(app: &TestApp) -> String {
    app.new_call("+14155550100", Some(TRUSTED)).await
}

/// The problem a refused grant answers, expecting `status`.
async fn refused_grant(app: &TestApp, token: &str, call_id: &str, status: StatusCode) -> Value {
    let path = format!("/v1/calls/{call_id}/grant");
    expect_problem(app.post_raw(token, &path, json!({})).await, status).await
}

async fn a_second_grant_on_a_call_answers_the_first(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = trusted_call(&app).await;
    let (status, g) = app.grant(&call_id).await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    let first = g["grant"]["grant_id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let p = refused_grant(&app, &app.agent_token, &call_id, StatusCode::CONFLICT).await;
        assert_eq!(p["type"], "urn:pingate:problem:grant-exists", "{p}");
        assert_eq!(p["grant_id"], first.as_str(), "{p}");
    }
    assert_eq!(audit_events(&app, "grant_issued").await.len(), 1);
    // One grant, so one notice per contact (email and SMS).
    assert_eq!(audit_events(&app, "message_queued").await.len(), 2);

    // A revoked grant gives its place up; so does an expired one.
    let (status, _) = app
        .post(
            &app.agent_token,
            &format!("/v1/grants/{first}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, g) = app.grant(&call_id).await;
    assert_eq!(status, StatusCode::CREATED, "after a revoke: {g}");
    app.clock
        .advance(app.settings.grant.ttl.0 + Duration::from_secs(1));
    let (status, g) = app.grant(&call_id).await;
    assert_eq!(status, StatusCode::CREATED, "after expiry: {g}");
    let p = refused_grant(&app, &app.agent_token, &call_id, StatusCode::CONFLICT).await;
    assert_eq!(p["grant_id"], g["grant"]["grant_id"], "{p}");

    // Another agent who takes the call over has a place of their own.
    let bob = second_agent(&app, "bob").await;
    let (status, _) = app
        .post(&bob, &format!("/v1/calls/{call_id}/take"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, g) = app
        .post(&bob, &format!("/v1/calls/{call_id}/grant"), json!({}))
        .await;
    assert_eq!(
        (status, g["grant"]["agent"].as_str()),
        (StatusCode::CREATED, Some("bob"))
    );
    app.shutdown().await;
}
on_both_engines!(
    a_second_grant_on_a_call_answers_the_first,
    a_second_grant_on_a_call_answers_the_first
);

async fn concurrent_grants_on_a_call_issue_one(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = trusted_call(&app).await;
    let barrier = tokio::sync::Barrier::new(24);
    let answers = join_all((0..24).map(|_| async {
        barrier.wait().await;
        app.grant(&call_id).await
    }))
    .await;
    let issued: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(issued.len(), 1, "{answers:?}");
    let id = &issued[0]["grant"]["grant_id"];
    for (status, v) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["type"], "urn:pingate:problem:grant-exists", "{v}");
        assert_eq!(&v["grant_id"], id, "{v}");
    }
    assert_eq!(audit_events(&app, "grant_issued").await.len(), 1);
    let open: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE call_id = $1 AND revoked_at IS NULL")
            .bind(&call_id)
            .fetch_one(app.state().store.reader())
            .await
            .unwrap();
    assert_eq!(open, 1);
    app.shutdown().await;
}
on_both_engines!(
    concurrent_grants_on_a_call_issue_one,
    concurrent_grants_on_a_call_issue_one
);

async fn spawn_with_limits(
    engine: Engine,
    test: &str,
    tweak: impl Fn(&mut pingate::config::LimitsSettings) + Send + Sync + 'static,
) -> Option<TestApp> {
    let opts = Options {
        tweak: Box::new(move |s| tweak(&mut s.limits)),
        ..Options::default()
    };
    let app = TestApp::spawn_with(engine, test, opts).await?;
    app.import_contoso().await;
    Some(app)
}

/// The quota a 429 was refused under, as audited (the latest refusal).
async fn refused_quota(app: &TestApp) -> Value {
    let refusals = audit_events(app, "excess_rate_limit_exceeded").await;
    refusals.last().expect("a refusal")["detail"]["quota"].clone()
}

async fn trusted_grants_spend_the_agents_quotas(engine: Engine, test: &str) {
    let Some(app) = spawn_with_limits(engine, test, |l| l.challenges_per_agent = 2).await else {
        return;
    };
    for _ in 0..2 {
        let (status, g) = app.grant(&trusted_call(&app).await).await;
        assert_eq!(status, StatusCode::CREATED, "{g}");
    }
    let call_id = trusted_call(&app).await;
    refused_grant(
        &app,
        &app.agent_token,
        &call_id,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(refused_quota(&app).await, "challenges_per_agent");
    assert_eq!(audit_events(&app, "grant_issued").await.len(), 2);
    app.shutdown().await;

    let Some(app) = spawn_with_limits(engine, test, |l| l.orgs_per_agent = 1).await else {
        return;
    };
    app.import_toml(NORTHWIND).await;
    let (status, _) = app.grant(&trusted_call(&app).await).await;
    assert_eq!(status, StatusCode::CREATED);
    let other = app.new_call("+14155550160", Some(TRUSTED)).await;
    refused_grant(
        &app,
        &app.agent_token,
        &other,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(refused_quota(&app).await, "orgs_per_agent");
    app.shutdown().await;
}
on_both_engines!(
    trusted_grants_spend_the_agents_quotas,
    trusted_grants_spend_the_agents_quotas
);

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

async fn grant_notices_count_as_messages(engine: Engine, test: &str) {
    let Some(app) = spawn_with_limits(engine, test, |l| l.sends_per_destination = 2).await else {
        return;
    };
    for _ in 0..2 {
        let (status, g) = app.grant(&trusted_call(&app).await).await;
        assert_eq!(status, StatusCode::CREATED, "{g}");
    }
    let call_id = trusted_call(&app).await;
    refused_grant(
        &app,
        &app.agent_token,
        &call_id,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(refused_quota(&app).await, "sends_per_destination");
    assert_eq!(audit_events(&app, "message_queued").await.len(), 4);
    app.shutdown().await;

    let Some(app) = spawn_with_limits(engine, test, |l| l.sms_global = 1).await else {
        return;
    };
    let (status, _) = app.grant(&trusted_call(&app).await).await;
    assert_eq!(status, StatusCode::CREATED);
    let call_id = trusted_call(&app).await;
    refused_grant(
        &app,
        &app.agent_token,
        &call_id,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(refused_quota(&app).await, "sms_global");
    app.shutdown().await;

    // An SMS contact outside limits.sms_countries gets no notice (audited);
    // the email contact still does.
    let Some(app) = spawn_with_limits(engine, test, |l| l.sms_countries = vec!["GB".into()]).await
    else {
        return;
    };
    let (status, g) = app.grant(&trusted_call(&app).await).await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    let queued = audit_events(&app, "message_queued").await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["detail"]["channel"], "email", "{queued:?}");
    let refused = audit_events(&app, "sms_destination_refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["detail"]["region"], "US", "{refused:?}");
    app.shutdown().await;
}
on_both_engines!(
    grant_notices_count_as_messages,
    grant_notices_count_as_messages
);

/// A grant issued on a right PIN is announced like a trusted one, and its
/// notices spend the send quotas the same way: with two sends per
/// destination, the PIN email and the approval's email notice spend the
/// email contact's, so the next PIN by email is refused; an approval whose
/// notices no longer fit is refused (429) and approves nothing.
async fn approval_notices_count_as_messages(engine: Engine, test: &str) {
    let Some(app) = spawn_with_limits(engine, test, |l| l.sends_per_destination = 2).await else {
        return;
    };
    let (_, ch, pin) = app.pending_pin(1).await;
    let (status, r) = app.check(&ch, &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved", "{r}");
    let call_id = app.new_call("+14155550124", None).await;
    let (status, _) = app.set_org(&call_id, "contoso").await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/v1/calls/{call_id}/challenges");
    let (status, p) = app
        .post(&app.agent_token, &path, json!({ "channel": "email" }))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{p}");
    assert_eq!(refused_quota(&app).await, "sends_per_destination");
    app.shutdown().await;

    // The approval itself is refused when its notices would overspend.
    let Some(app) = spawn_with_limits(engine, test, |l| l.sends_per_destination = 1).await else {
        return;
    };
    let (_, ch, pin) = app.pending_pin(1).await;
    let (status, r) = app.check(&ch, &pin).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{r}");
    assert_eq!(refused_quota(&app).await, "sends_per_destination");
    assert!(audit_events(&app, "grant_issued").await.is_empty());
    let (_, now) = app
        .get(&app.agent_token, &format!("/v1/challenges/{ch}"))
        .await;
    assert_eq!(now["status"], "pending", "nothing was approved: {now}");
    app.shutdown().await;
}
on_both_engines!(
    approval_notices_count_as_messages,
    approval_notices_count_as_messages
);
