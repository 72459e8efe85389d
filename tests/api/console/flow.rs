//! The whole verification in the console over HTTP: attach by account
//! number, send by email, a wrong then the right PIN, the grant, revoke;
//! cancel; Grant access on a trusted call; plain refusals.

use reqwest::StatusCode;

use super::client::{Console, challenge_id};
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, wrong_pin};

async fn an_agent_verifies_a_caller_from_attach_to_revoke(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = app.new_call("+14155550123", None).await;
    let c = Console::sign_in(&app, &app.agent_token).await;
    let page = c.get(&format!("/console/calls/{call_id}")).await;
    assert!(
        page.body.contains("Account number or organisation"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("organisation not known yet: PIN required"),
        "{}",
        page.body
    );

    let page = c
        .act(
            &format!("/console/calls/{call_id}/org"),
            &[("org", "40012345")],
        )
        .await;
    assert!(
        page.body.contains("Organisation attached."),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("number not registered to Contoso Ltd: PIN required"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Send PIN by email") && page.body.contains("i***@contoso.example"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Send PIN by SMS"), "{}", page.body);

    let page = c
        .act(
            &format!("/console/calls/{call_id}/challenges"),
            &[("channel", "email")],
        )
        .await;
    assert!(page.body.contains("PIN sent."), "{}", page.body);
    let chl = challenge_id(&page.body).expect("challenge on the page");
    let pin = app.pin_from_email(1).await;

    let page = c
        .act(
            &format!("/console/challenges/{chl}/check"),
            &[("pin", wrong_pin(&pin))],
        )
        .await;
    assert!(
        page.body.contains("Wrong PIN. 4 attempts left."),
        "{}",
        page.body
    );
    assert!(page.body.contains("4 of 5"), "{}", page.body);

    let page = c
        .act(
            &format!("/console/challenges/{chl}/check"),
            &[("pin", pin.as_str())],
        )
        .await;
    assert!(
        page.body.contains("Verified: access granted."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("data-countdown-to="),
        "countdown: {}",
        page.body
    );
    assert!(page.body.contains("Revoke access"), "{}", page.body);
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["verification"], "verified");
    let grant_id = call["grants"][0]["grant_id"].as_str().unwrap().to_string();

    let page = c
        .act(&format!("/console/grants/{grant_id}/revoke"), &[])
        .await;
    assert!(page.body.contains("Access revoked."), "{}", page.body);
    let (_, g) = app
        .get(&app.agent_token, &format!("/v1/grants/{grant_id}"))
        .await;
    assert_eq!(g["active"], false, "{g}");
    assert!(!page.body.contains("Revoke access"), "{}", page.body);
    app.shutdown().await;
}
on_both_engines!(
    verify_from_attach_to_revoke,
    an_agent_verifies_a_caller_from_attach_to_revoke
);

async fn cancel_verification_ends_the_challenge_from_the_console_and_the_api(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (call_id, chl) = app.pending_challenge("+14155550123").await;
    let c = Console::sign_in(&app, &app.agent_token).await;
    let page = c
        .act(&format!("/console/challenges/{chl}/cancel"), &[])
        .await;
    assert!(
        page.body.contains("Verification cancelled."),
        "{}",
        page.body
    );
    let (status, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{chl}"))
        .await;
    assert_eq!(
        (status, ch["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    // A PIN for a cancelled verification is refused in words.
    let page = c
        .post(
            &format!("/console/challenges/{chl}/check"),
            &[("pin", "123456")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(
        page.body.contains("This verification was cancelled."),
        "{}",
        page.body
    );

    // The API cancels through the same service.
    let chl2 = app.challenge(&call_id, "email").await;
    let (status, ch) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{chl2}/cancel"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        (status, ch["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{ch}"
    );
    let (status, again) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{chl2}/cancel"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let cancelled = app.events("challenge_cancelled").await;
    let by_agent: Vec<_> = cancelled
        .iter()
        .filter(|e| e["actor"] == "agent:alice" && e["detail"]["reason"] == "agent")
        .collect();
    assert_eq!(by_agent.len(), 2, "{cancelled:?}");
    app.shutdown().await;
}
on_both_engines!(
    cancel_verification,
    cancel_verification_ends_the_challenge_from_the_console_and_the_api
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_call_gets_grant_access_and_an_unknown_org_is_refused_next_to_the_field() {
    let app = TestApp::spawn(Engine::Sqlite, "console trusted")
        .await
        .unwrap();
    app.import_contoso().await;
    let call_id = app
        .new_call("+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let c = Console::sign_in(&app, &app.agent_token).await;
    let page = c.get(&format!("/console/calls/{call_id}")).await;
    assert!(
        page.body
            .contains("number registered to Contoso Ltd, attestation A: Trusted number"),
        "{}",
        page.body
    );
    let page = c.act(&format!("/console/calls/{call_id}/grant"), &[]).await;
    assert!(page.body.contains("Access granted."), "{}", page.body);
    assert!(page.body.contains("Revoke access"), "{}", page.body);

    let other = app.new_call("+14155550124", None).await;
    let page = c
        .post(
            &format!("/console/calls/{other}/org"),
            &[("org", "99999999")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"org-error\""), "{}", page.body);
    assert!(
        page.body
            .contains("No organisation has that account number or name."),
        "{}",
        page.body
    );
    // By name, ignoring case.
    let page = c
        .act(
            &format!("/console/calls/{other}/org"),
            &[("org", "contoso ltd")],
        )
        .await;
    assert!(
        page.body.contains("Organisation attached."),
        "{}",
        page.body
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_edit_is_validated_like_an_import_with_errors_next_to_their_fields() {
    let app = TestApp::spawn(Engine::Sqlite, "console org edit")
        .await
        .unwrap();
    app.import_contoso().await;
    let c = Console::sign_in(&app, &app.admin_token).await;
    let page = c.get("/console/orgs/contoso").await;
    assert!(
        page.body.contains("Contoso Ltd") && page.body.contains("i***@contoso.example"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("it-admin@contoso.example"),
        "full contact shown"
    );
    let bad = c
        .post(
            "/console/orgs/contoso",
            &[
                ("name", "Contoso Ltd"),
                ("account_number", "12ab"),
                ("registered_numbers", "+14155550100\nnot-a-number"),
                ("channels", "email"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("id=\"account_number-error\""),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("id=\"registered_numbers-error\""),
        "{}",
        bad.body
    );
    let org = pingate::service::orgs::get(app.state(), "contoso")
        .await
        .unwrap();
    assert_eq!(org.account_number, "40012345", "nothing saved");
    let ok = c
        .act(
            "/console/orgs/contoso",
            &[
                ("name", "Contoso Group"),
                ("account_number", "40012345"),
                ("registered_numbers", "+14155550100"),
                ("channels", "email"),
                ("channels", "sms"),
            ],
        )
        .await;
    assert!(ok.body.contains("Saved."), "{}", ok.body);
    let org = pingate::service::orgs::get(app.state(), "contoso")
        .await
        .unwrap();
    assert_eq!(org.name, "Contoso Group");
    assert_eq!(
        org.contacts.email.as_ref().map(|e| e.as_str()),
        Some("it-admin@contoso.example"),
        "contact kept"
    );
    assert_eq!(org.registered_numbers.len(), 1);
    app.shutdown().await;
}
