//! What a role alone does not decide: a challenge's destination comes from
//! the org's profile only, and a grant is revoked only by the agent who
//! issued it or an admin (another agent finds no such grant).

use reqwest::StatusCode;
use serde_json::json;

use crate::errors::{audit_events, expect_problem, pin_required_call};
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};
use pingate::store::principals::Role;

use super::fixture;

async fn challenge_destination_comes_from_the_profile_only(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let path = format!("/v1/calls/{call_id}/challenges");
    let attacker = [
        ("destination", json!("attacker@evil.example")),
        ("to", json!("+15550000666")),
        ("email", json!("attacker@evil.example")),
        ("phone", json!("+15550000666")),
        ("destination", json!("it-admin@contoso.example")),
        ("contacts", json!({ "email": "attacker@evil.example" })),
    ];
    for channel in ["email", "sms"] {
        for (field, value) in &attacker {
            let mut body = json!({ "channel": channel });
            body[*field] = value.clone();
            let resp = app
                .client
                .post(app.url(&path))
                .bearer_auth(&app.agent_token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{body}: {status}"
            );
            expect_problem(resp, status).await;
        }
    }
    // Nothing was created, so nothing is queued.
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["challenges"], json!([]), "{call}");
    assert!(audit_events(&app, "challenge_created").await.is_empty());
    assert!(audit_events(&app, "message_queued").await.is_empty());

    // The legitimate request goes to the registered contacts, and only
    // these two messages are ever sent.
    let (status, ch) = app
        .post(&app.agent_token, &path, json!({ "channel": "email" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    // Wait for it: the SMS challenge below supersedes this one, and a PIN
    // not yet sent when its challenge ends is rightly never sent.
    let mails = app
        .smtp
        .wait_for(1, std::time::Duration::from_secs(20))
        .await;
    let (status, ch) = app
        .post(&app.agent_token, &path, json!({ "channel": "sms" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let sms = app
        .sms
        .wait_for(1, std::time::Duration::from_secs(20))
        .await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["it-admin@contoso.example".to_string()]);
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].to, "+14155550199");
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["challenges"].as_array().unwrap().len(), 2, "{call}");
    app.shutdown().await;
}
on_both_engines!(
    challenge_destination_comes_from_the_profile_only,
    challenge_destination_comes_from_the_profile_only
);

async fn only_the_issuing_agent_or_an_admin_revokes_a_grant(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let f = fixture(&app).await;
    use secrecy::ExposeSecret;
    let bob = pingate::service::principals::add(app.state(), "test", "bob", Role::Agent)
        .await
        .expect("second agent")
        .expose_secret()
        .to_string();

    // A grant bob may not see is not found on every verb, exactly as a
    // grant that does not exist: no verb tells him which ids are real.
    let unknown = "grt_00000000000000000000000000000000";
    for id in [f.grant_id.as_str(), unknown] {
        let revoke = app
            .client
            .post(app.url(&format!("/v1/grants/{id}/revoke")))
            .bearer_auth(&bob)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let revoked = expect_problem(revoke, StatusCode::NOT_FOUND).await;
        let read = app
            .client
            .get(app.url(&format!("/v1/grants/{id}")))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap();
        let read = expect_problem(read, StatusCode::NOT_FOUND).await;
        assert_eq!(revoked["type"], read["type"], "{id}: {revoked} {read}");
        assert_eq!(revoked["detail"], read["detail"], "{id}: {revoked} {read}");
    }
    let refused = audit_events(&app, "authz_fail").await;
    assert_eq!(refused.len(), 1, "the attempt on a real grant is audited");
    assert_eq!(refused[0]["actor"], "agent:bob");
    assert_eq!(refused[0]["grant_id"], f.grant_id.as_str());
    let (_, i) = app
        .post(
            &app.agent_token,
            "/v1/grants/introspect",
            json!({ "token": f.grant_token }),
        )
        .await;
    assert_eq!(
        i["active"], true,
        "bob's refused revoke left it active: {i}"
    );
    assert!(audit_events(&app, "grant_revoked").await.is_empty());

    let (status, g) = app
        .post(
            &app.admin_token,
            &format!("/v1/grants/{}/revoke", f.grant_id),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!(g["active"], false, "{g}");
    assert_eq!(g["revoked_by"], "admin:adam", "{g}");
    let (_, i) = app
        .post(
            &bob,
            "/v1/grants/introspect",
            json!({ "token": f.grant_token }),
        )
        .await;
    assert_eq!(i, json!({ "active": false }));
    let revoked = audit_events(&app, "grant_revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["actor"], "admin:adam");
    assert_eq!(revoked[0]["grant_id"], f.grant_id.as_str());
    app.shutdown().await;
}
on_both_engines!(
    only_the_issuing_agent_or_an_admin_revokes_a_grant,
    only_the_issuing_agent_or_an_admin_revokes_a_grant
);
