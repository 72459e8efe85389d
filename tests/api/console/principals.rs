//! The principals page: an administrator disables a principal after a
//! confirmation (CSRF-checked, audited as the API and CLI do), its console
//! sessions end on every instance; other roles cannot disable.

use reqwest::StatusCode;

use super::client::Console;
use super::live::second_instance;
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

async fn an_admin_disables_a_principal_after_confirming_and_its_sessions_end_everywhere(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let other = second_instance(&app).await;
    let alice = Console::sign_in_at(&other.base, &app.agent_token).await;
    let admin = Console::sign_in(&app, &app.admin_token).await;

    let list = admin.get("/console/principals").await;
    assert!(
        list.body
            .contains("action=\"/console/principals/alice/disable\""),
        "{}",
        list.body
    );
    let confirm = admin.get("/console/principals/alice/disable").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.body.contains("Yes, disable alice"),
        "{}",
        confirm.body
    );
    assert_eq!(
        alice.get("/console/calls").await.status,
        StatusCode::OK,
        "opening the confirmation changes nothing"
    );

    // Without the form's anti-forgery token nothing happens.
    let forged = admin
        .post_raw("/console/principals/alice/disable", &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(alice.get("/console/calls").await.status, StatusCode::OK);

    let done = admin.act("/console/principals/alice/disable", &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body
            .contains("alice is disabled: its token and console sessions stopped working."),
        "{}",
        done.body
    );
    // Alice's session on the other instance ends at once, and her token.
    let after = alice.get("/console/calls").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.headers["location"], "/console/login");
    let (status, _) = app.get(&app.agent_token, "/v1/calls").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let events = app.events("principal_disabled").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"], "admin:adam");
    assert_eq!(events[0]["detail"]["principal"], "agent:alice");

    // A second disable is refused in words, and not audited again.
    let again = admin.post("/console/principals/alice/disable", &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.body.contains("Principal alice is disabled"),
        "{}",
        again.body
    );
    assert_eq!(app.events("principal_disabled").await.len(), 1);
    other.stop().await;
    app.shutdown().await;
}
on_both_engines!(
    admin_disables_a_principal,
    an_admin_disables_a_principal_after_confirming_and_its_sessions_end_everywhere
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_or_a_reviewer_cannot_disable_a_principal() {
    let app = TestApp::spawn(Engine::Sqlite, "console disable roles")
        .await
        .unwrap();
    let agent = Console::sign_in(&app, &app.agent_token).await;
    let reviewer = Console::sign_in(&app, &app.reviewer_token).await;
    for who in [&agent, &reviewer] {
        assert_eq!(
            who.get("/console/principals/adam/disable").await.status,
            StatusCode::FORBIDDEN
        );
        let post = who.post("/console/principals/adam/disable", &[]).await;
        assert_eq!(post.status, StatusCode::FORBIDDEN);
    }
    assert!(app.events("principal_disabled").await.is_empty());
    let (status, _) = app.get(&app.admin_token, "/v1/principals").await;
    assert_eq!(status, StatusCode::OK, "the admin is still enabled");
    let denials = app.events("authz_fail").await;
    assert!(
        denials.iter().any(|e| e["actor"] == "agent:alice"
            && e["detail"]["path"] == "/console/principals/adam/disable"),
        "{denials:?}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_an_unknown_principal_is_not_found() {
    let app = TestApp::spawn(Engine::Sqlite, "console disable unknown")
        .await
        .unwrap();
    let admin = Console::sign_in(&app, &app.admin_token).await;
    assert_eq!(
        admin.get("/console/principals/nobody/disable").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .post("/console/principals/nobody/disable", &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    app.shutdown().await;
}
