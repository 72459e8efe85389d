//! Calls: idempotent voice webhooks, classification of withheld, client and
//! SIP callers, and caller-ID trust.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::errors::audit_events;
use crate::on_both_engines;
use crate::support::app::{AUTH_TOKEN, Engine, Options, TestApp, call_sid};
use crate::support::twilio_signer::{form_body, sign_form};
use pingate::config::CallerIdTrust;

use super::{FORM, VOICE, all_calls, call_view, calls_for, voice_params};

async fn replayed_voice_webhook_is_not_a_second_call(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;

    let sid = call_sid();
    let first = app
        .call(&sid, "+14155550123", Some("TN-Validation-Passed-A"))
        .await;
    let second = app
        .call(&sid, "+14155550123", Some("TN-Validation-Passed-A"))
        .await;
    assert_eq!(first, second, "a retry gets the same TwiML");
    // A replay carrying other values does not rewrite the call either.
    let third = app
        .call(&sid, "+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    assert_eq!(first, third);
    let listed = calls_for(&app, &sid).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["from"], "+14155550123");
    assert_eq!(listed[0]["org_id"], Value::Null);
    assert_eq!(listed[0]["verification"], "pin_required");

    // Concurrent retries, released together.
    let sid2 = call_sid();
    let url = app.url(VOICE);
    let params = voice_params(&sid2, "+14155550100");
    let body = form_body(&params);
    let signature = sign_form(&url, &params, AUTH_TOKEN);
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (client, url, body, signature) = (
                app.client.clone(),
                url.clone(),
                body.clone(),
                signature.clone(),
            );
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                let resp = client
                    .post(url)
                    .header("content-type", FORM)
                    .header("x-twilio-signature", signature)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (resp.status(), resp.text().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers.iter().all(|(s, _)| *s == StatusCode::OK),
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|(_, t)| *t == answers[0].1),
        "{answers:?}"
    );
    assert_eq!(calls_for(&app, &sid2).await.len(), 1);

    let received = audit_events(&app, "call_received").await;
    for s in [&sid, &sid2] {
        let n = received
            .iter()
            .filter(|e| e["detail"]["provider_call_id"] == s.as_str())
            .count();
        assert_eq!(n, 1, "call_received events for {s}");
    }
    assert_eq!(all_calls(&app).await.len(), 2);
    app.shutdown().await;
}
on_both_engines!(
    replayed_voice_webhook_is_not_a_second_call,
    replayed_voice_webhook_is_not_a_second_call
);

async fn withheld_client_and_sip_callers_are_classified_and_never_trusted(
    engine: Engine,
    test: &str,
) {
    let opts = Options {
        trust: CallerIdTrust::Any,
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let cases = [
        ("anonymous", "withheld"),
        ("Anonymous", "withheld"),
        ("unknown", "withheld"),
        ("restricted", "withheld"),
        ("private", "withheld"),
        ("", "withheld"),
        ("+266696687", "withheld"),
        ("+7378742833", "withheld"),
        ("+2562533", "withheld"),
        ("+8656696", "withheld"),
        ("+86282452253", "withheld"),
        ("client:alice", "client"),
        ("sip:alice@pbx.contoso.example", "sip"),
        ("not a number", "other"),
    ];
    for (from, kind) in cases {
        let sid = call_sid();
        let twiml = app.call(&sid, from, Some("TN-Validation-Passed-A")).await;
        assert!(
            twiml.contains("<Gather"),
            "{from:?}: the org is unknown: {twiml}"
        );
        let call_id = app.call_id_for(&sid).await;
        let call = call_view(&app, &call_id).await;
        assert_eq!(call["from"], from, "{call}");
        assert_eq!(call["caller_kind"], kind, "{from:?}: {call}");
        assert_eq!(call["verification"], "pin_required", "{from:?}: {call}");
        assert_eq!(call["org_id"], Value::Null, "{from:?}: {call}");

        // Naming the org does not make such a caller trusted either.
        let (status, call) = app
            .post(
                &app.agent_token,
                &format!("/v1/calls/{call_id}/org"),
                json!({ "org_id": "contoso" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{call}");
        assert_eq!(call["verification"], "pin_required", "{from:?}: {call}");
        let (status, r) = app.grant(&call_id).await;
        assert_eq!(status, StatusCode::CONFLICT, "{from:?}: {r}");
    }
    assert!(audit_events(&app, "grant_issued").await.is_empty());
    app.shutdown().await;
}
on_both_engines!(
    withheld_client_and_sip_callers_are_classified_and_never_trusted,
    withheld_client_and_sip_callers_are_classified_and_never_trusted
);

async fn registered_number_is_trusted_only_with_full_attestation_by_default(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    for (attestation, expected) in [
        (None, "pin_required"),
        (Some("TN-Validation-Passed-B"), "pin_required"),
        (Some("TN-Validation-Passed-C"), "pin_required"),
        (Some("TN-Validation-Failed-A"), "pin_required"),
        (Some("No-TN-Validation"), "pin_required"),
        (Some("TN-Validation-Passed-A"), "trusted_number"),
    ] {
        let sid = call_sid();
        let twiml = app.call(&sid, "+14155550100", attestation).await;
        assert!(!twiml.contains("<Gather"), "org known by number: {twiml}");
        let call = call_view(&app, &app.call_id_for(&sid).await).await;
        assert_eq!(call["verification"], expected, "{attestation:?}: {call}");
        assert_eq!(call["org_id"], "contoso");
        assert_eq!(call["caller_kind"], "e164");
        assert_eq!(call["attestation"], json!(attestation));
    }
    app.shutdown().await;
}
on_both_engines!(
    registered_number_is_trusted_only_with_full_attestation_by_default,
    registered_number_is_trusted_only_with_full_attestation_by_default
);

async fn caller_id_trust_any_trusts_a_registered_number_without_attestation(
    engine: Engine,
    test: &str,
) {
    let opts = Options {
        trust: CallerIdTrust::Any,
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    for attestation in [None, Some("TN-Validation-Passed-C")] {
        let sid = call_sid();
        app.call(&sid, "+8613800138000", attestation).await;
        let call_id = app.call_id_for(&sid).await;
        let call = call_view(&app, &call_id).await;
        assert_eq!(
            call["verification"], "trusted_number",
            "{attestation:?}: {call}"
        );
        let (status, r) = app.grant(&call_id).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
    }
    // An unregistered number is still not trusted.
    let sid = call_sid();
    app.call(&sid, "+14155550123", None).await;
    let call = call_view(&app, &app.call_id_for(&sid).await).await;
    assert_eq!(call["verification"], "pin_required", "{call}");
    app.shutdown().await;
}
on_both_engines!(
    caller_id_trust_any_trusts_a_registered_number_without_attestation,
    caller_id_trust_any_trusts_a_registered_number_without_attestation
);
