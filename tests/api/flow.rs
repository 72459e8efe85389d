//! The whole verification flow, end to end, on both engines.

use reqwest::StatusCode;
use serde_json::json;

use crate::delivery::delivery_reaches;
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, call_sid, wrong_pin};

async fn pin_by_email_then_grant_introspect_revoke(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;

    // An unregistered caller: the IVR asks for the account number.
    let sid = call_sid();
    let twiml = app
        .call(&sid, "+14155550123", Some("TN-Validation-Passed-A"))
        .await;
    assert!(twiml.contains("<Gather"), "{twiml}");
    let resp = app
        .webhook(
            "/webhooks/twilio/gather",
            &[("CallSid", &sid), ("Digits", "40012345")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("<Enqueue>support</Enqueue>")
    );

    let call_id = app.call_id_for(&sid).await;
    let (status, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(call["org_id"], "contoso");
    assert_eq!(call["verification"], "pin_required");
    assert_eq!(call["caller_kind"], "e164");
    assert_eq!(call["from"], "+14155550123");

    let (status, ch) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    assert_eq!(ch["status"], "pending");
    assert_eq!(ch["destination"], "i***@contoso.example");
    let challenge_id = ch["challenge_id"].as_str().unwrap().to_string();

    let pin = app.pin_from_email(1).await;
    let mail = &app.smtp.messages()[0];
    assert_eq!(mail.to, vec!["it-admin@contoso.example".to_string()]);
    assert!(mail.body_text().contains("Contoso Ltd"));

    let wrong = wrong_pin(&pin);
    let (status, r) = app.check(&challenge_id, wrong).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r, json!({"status": "pending", "attempts_left": 4}));

    let (status, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved");
    let token = r["grant"]["token"].as_str().unwrap().to_string();
    let grant_id = r["grant"]["grant_id"].as_str().unwrap().to_string();
    assert_eq!(r["grant"]["org_id"], "contoso");
    assert_eq!(r["grant"]["agent"], "alice");

    // A used PIN is single-use.
    let (status, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    assert_eq!(r["state"], "approved");

    let (status, r) = app
        .post(
            &app.agent_token,
            "/v1/grants/introspect",
            json!({"token": token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["active"], true);
    assert_eq!(r["org_id"], "contoso");
    assert_eq!(r["agent"], "alice");

    // The org's contacts hear about the grant, by email and by SMS.
    let mails = app
        .smtp
        .wait_for(2, std::time::Duration::from_secs(20))
        .await;
    assert!(
        mails[1].body_text().contains("alice"),
        "{}",
        mails[1].body_text()
    );
    assert!(!mails[1].body_text().contains(&pin));
    let sms = app
        .sms
        .wait_for(1, std::time::Duration::from_secs(20))
        .await;
    assert_eq!(sms[0].to, "+14155550199");
    assert!(sms[0].body.contains(&call_id));

    let (status, _) = app
        .post(
            &app.agent_token,
            &format!("/v1/grants/{grant_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, r) = app
        .post(
            &app.agent_token,
            "/v1/grants/introspect",
            json!({"token": token}),
        )
        .await;
    assert_eq!(r, json!({"active": false}));

    let (status, v) = app.get(&app.reviewer_token, "/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["ok"], true, "{v}");
    app.shutdown().await;
}
on_both_engines!(
    pin_by_email_then_grant_introspect_revoke,
    pin_by_email_then_grant_introspect_revoke
);

async fn pin_by_sms_through_the_messages_api(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let sid = call_sid();
    // A registered number without full attestation must still read a PIN.
    let twiml = app
        .call(&sid, "+14155550100", Some("TN-Validation-Passed-B"))
        .await;
    assert!(
        !twiml.contains("<Gather"),
        "org is known by number: {twiml}"
    );
    let call_id = app.call_id_for(&sid).await;
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["verification"], "pin_required");
    assert_eq!(call["org_id"], "contoso");

    let (status, ch) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": "sms"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    assert_eq!(ch["destination"], "+1 ***-***-0199");
    let pin = app.pin_from_sms(1).await;
    let sent = &app.sms.messages()[0];
    assert_eq!(sent.to, "+14155550199");
    assert_eq!(sent.from, "+15005550006");

    let (status, r) = app.check(ch["challenge_id"].as_str().unwrap(), &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved");
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["verification"], "verified");
    // The worker records `sent` in its own transaction after the API
    // answered, so the status is waited for, not read once.
    let challenge_id = ch["challenge_id"].as_str().unwrap();
    delivery_reaches(&app, &call_id, challenge_id, 0, "sent").await;
    app.shutdown().await;
}
on_both_engines!(
    pin_by_sms_through_the_messages_api,
    pin_by_sms_through_the_messages_api
);

async fn trusted_number_gets_a_grant_without_a_pin(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = app
        .new_call("+8613800138000", Some("TN-Validation-Passed-A"))
        .await;
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["verification"], "trusted_number");
    let (status, r) = app.grant(&call_id).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["grant"]["basis"], "trusted_number");
    let (_, i) = app
        .post(
            &app.agent_token,
            "/v1/grants/introspect",
            json!({"token": r["grant"]["token"]}),
        )
        .await;
    assert_eq!(i["active"], true);
    app.shutdown().await;
}
on_both_engines!(
    trusted_number_gets_a_grant_without_a_pin,
    trusted_number_gets_a_grant_without_a_pin
);
