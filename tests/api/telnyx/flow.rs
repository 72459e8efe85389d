//! A caller through Telnyx, end to end: a signed TeXML call is classified
//! by its SHAKEN/STIR attestation, the PIN goes out through the Messaging
//! API, its delivery report arrives signed, the PIN checks and the grant
//! is issued; the IVR and the call's end go through Telnyx's routes too.

use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::delivery::delivery_reaches;
use crate::on_both_engines;
use crate::support::app::{Engine, extract_pin};

async fn call(app: &TestApp, sid: &str, from: &str, att: Option<(&str, &str)>) -> (String, Value) {
    let resp = post_signed(app, VOICE, FORM, &voice_body(sid, from, att)).await;
    assert_eq!(resp.status(), StatusCode::OK, "voice webhook");
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    let texml = resp.text().await.unwrap();
    let call_id = app.call_id_for(sid).await;
    let (status, view) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    (texml, view)
}

async fn a_telnyx_caller_is_verified_end_to_end(engine: Engine, test: &str) {
    let Some((app, api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;

    // A registered number with partial attestation must read a PIN.
    let sid = call_sid();
    let (texml, view) = call(&app, &sid, "+14155550100", Some(("B", "true"))).await;
    assert!(
        texml.starts_with("<?xml") && texml.contains("<Enqueue>support</Enqueue>"),
        "{texml}"
    );
    assert_eq!(view["provider"], "telnyx");
    assert_eq!(view["org_id"], "contoso");
    assert_eq!(view["verification"], "pin_required");
    assert_eq!(view["attestation"], "B (validated)");
    let call_id = view["call_id"].as_str().unwrap().to_string();

    // A retried webhook (Telnyx signs it anew, a second later) is the
    // same call.
    let body = voice_body(&sid, "+14155550100", Some(("B", "true")));
    let later = (now_secs(&app) + 1).to_string();
    let headers = [
        (
            "telnyx-signature-ed25519",
            sign(&signing_key(), &later, &body),
        ),
        ("telnyx-timestamp", later),
    ];
    let resp = post_with(&app, VOICE, FORM, &body, &headers).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.call_id_for(&sid).await, call_id);

    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = api.wait_for(1, WAIT).await;
    assert_eq!(sms[0].to, "+14155550199");
    assert_eq!(sms[0].from, "+18005550111");
    let webhook_url = sms[0].webhook_url.as_deref().unwrap();
    assert_eq!(webhook_url, app.url(MESSAGE_STATUS));
    let sent = delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    assert_eq!(sent["provider_message_id"], sms[0].id.as_str());

    let report = message_event(&sms[0].id, "delivered", None);
    let resp = post_signed(&app, MESSAGE_STATUS, "application/json", &report).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    delivery_reaches(&app, &call_id, &challenge_id, 0, "delivered").await;

    let pin = extract_pin(&sms[0].text, app.settings.pin.length);
    let (status, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved");
    assert_eq!(r["grant"]["org_id"], "contoso");

    // The caller hangs up: the call ends.
    let body = form(&[("CallSid", sid.as_str()), ("CallStatus", "completed")]);
    let resp = post_signed(&app, STATUS, FORM, &body).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (_, ended) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(ended["status"], "ended");
    app.shutdown().await;
}
on_both_engines!(
    a_telnyx_caller_is_verified_end_to_end,
    a_telnyx_caller_is_verified_end_to_end
);

async fn a_validated_a_attestation_trusts_a_registered_number(engine: Engine, test: &str) {
    let Some((app, _api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    for (att, expected) in [
        (Some(("A", "true")), "trusted_number"),
        (Some(("A", "false")), "pin_required"),
        (Some(("C", "true")), "pin_required"),
        (None, "pin_required"),
    ] {
        let (_, view) = call(&app, &call_sid(), "+8613800138000", att).await;
        assert_eq!(view["verification"], expected, "{att:?}");
    }
    let (_, trusted) = call(&app, &call_sid(), "+8613800138000", Some(("A", "true"))).await;
    let (status, r) = app.grant(trusted["call_id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["grant"]["basis"], "trusted_number");
    app.shutdown().await;
}
on_both_engines!(
    a_validated_a_attestation_trusts_a_registered_number,
    a_validated_a_attestation_trusts_a_registered_number
);

async fn an_unknown_caller_keys_the_account_number_through_texml(engine: Engine, test: &str) {
    let Some((app, _api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let sid = call_sid();
    let (texml, view) = call(&app, &sid, "+14155550123", None).await;
    let action = format!(r#"<Gather action="{}""#, app.url(GATHER));
    assert!(texml.contains(&action), "{texml}");
    assert_eq!(view["org_id"], Value::Null);

    let body = form(&[("CallSid", sid.as_str()), ("Digits", "40012345#")]);
    let resp = post_signed(&app, GATHER, FORM, &body).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let next = resp.text().await.unwrap();
    assert!(next.contains("<Enqueue>support</Enqueue>"), "{next}");
    let (_, view) = app
        .get(
            &app.agent_token,
            &format!("/v1/calls/{}", view["call_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(view["org_id"], "contoso");
    assert_eq!(view["verification"], "pin_required");
    app.shutdown().await;
}
on_both_engines!(
    an_unknown_caller_keys_the_account_number_through_texml,
    an_unknown_caller_keys_the_account_number_through_texml
);

async fn a_failed_delivery_report_moves_the_pin_to_undelivered(engine: Engine, test: &str) {
    let Some((app, api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (_, view) = call(&app, &call_sid(), "+14155550100", None).await;
    let call_id = view["call_id"].as_str().unwrap().to_string();
    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = api.wait_for(1, WAIT).await;
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    // Interim events change nothing.
    for interim in ["sending", "sent", "delivery_unconfirmed"] {
        let body = message_event(&sms[0].id, interim, None);
        let resp = post_signed(&app, MESSAGE_STATUS, "application/json", &body).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }
    let body = message_event(&sms[0].id, "delivery_failed", Some("40008"));
    let resp = post_signed(&app, MESSAGE_STATUS, "application/json", &body).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let failed = delivery_reaches(&app, &call_id, &challenge_id, 0, "undelivered").await;
    assert_eq!(failed["provider_message_id"], sms[0].id.as_str());
    let reported = app.events("message_delivery_reported").await;
    assert_eq!(reported.len(), 1, "{reported:#?}");
    assert_eq!(reported[0]["actor"], "provider:telnyx");
    assert_eq!(reported[0]["detail"]["provider_status"], "delivery_failed");
    assert_eq!(reported[0]["detail"]["error_code"], "40008");
    app.shutdown().await;
}
on_both_engines!(
    a_failed_delivery_report_moves_the_pin_to_undelivered,
    a_failed_delivery_report_moves_the_pin_to_undelivered
);
