//! A caller through Plivo, end to end: a signed answer callback is
//! classified (Plivo gives no attestation), the PIN goes out through the
//! Message API, its status callback arrives signed, the PIN checks and the
//! grant is issued; the IVR and the hangup go through Plivo's routes too.

use pingate::config::CallerIdTrust;
use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::delivery::delivery_reaches;
use crate::on_both_engines;
use crate::support::app::{Engine, extract_pin};

async fn call(app: &TestApp, uuid: &str, from: &str) -> (String, Value) {
    let resp = post_signed(app, ANSWER, &answer_params(uuid, from)).await;
    assert_eq!(resp.status(), StatusCode::OK, "answer webhook");
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/xml"),
        "{content_type}"
    );
    let xml = resp.text().await.unwrap();
    let call_id = app.call_id_for(uuid).await;
    let (status, view) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    (xml, view)
}

/// Posts a signed message status callback; it answers 204.
async fn report(app: &TestApp, message_uuid: &str, status: &str, error_code: &str) {
    let params = [
        ("MessageUUID", message_uuid),
        ("Status", status),
        ("ErrorCode", error_code),
        ("To", "14155550199"),
    ];
    let resp = post_signed(app, MESSAGE_STATUS, &params).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT, "{status}");
}

async fn a_plivo_caller_is_verified_end_to_end(engine: Engine, test: &str) {
    let Some((app, api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;

    // A registered number (sent without `+`) with no attestation: a PIN.
    let uuid = call_uuid();
    let (xml, view) = call(&app, &uuid, "14155550100").await;
    assert!(
        xml.starts_with("<?xml") && xml.contains("<Conference>support</Conference>"),
        "{xml}"
    );
    assert!(xml.contains("<Speak"), "{xml}");
    assert_eq!(view["provider"], "plivo");
    assert_eq!(view["org_id"], "contoso");
    assert_eq!(view["verification"], "pin_required");
    let call_id = view["call_id"].as_str().unwrap().to_string();

    // A retried callback (a new nonce) is the same call.
    let resp = post_signed(&app, ANSWER, &answer_params(&uuid, "14155550100")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.call_id_for(&uuid).await, call_id);

    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = api.wait_for(1, WAIT).await;
    assert_eq!(sms[0].dst, "+14155550199");
    assert_eq!(sms[0].src, "+18005550112");
    assert_eq!(
        sms[0].url.as_deref(),
        Some(app.url(MESSAGE_STATUS).as_str())
    );
    assert_eq!(sms[0].method.as_deref(), Some("POST"));
    let sent = delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    assert_eq!(sent["provider_message_id"], sms[0].uuid.as_str());

    report(&app, &sms[0].uuid, "delivered", "0").await;
    delivery_reaches(&app, &call_id, &challenge_id, 0, "delivered").await;

    let pin = extract_pin(&sms[0].text, app.settings.pin.length);
    let (status, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved");
    assert_eq!(r["grant"]["org_id"], "contoso");

    // The caller hangs up: the call ends.
    let hangup = [
        ("CallUUID", uuid.as_str()),
        ("CallStatus", "completed"),
        ("HangupCause", "NORMAL_CLEARING"),
    ];
    let resp = post_signed(&app, HANGUP, &hangup).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (_, ended) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(ended["status"], "ended");
    app.shutdown().await;
}
on_both_engines!(
    a_plivo_caller_is_verified_end_to_end,
    a_plivo_caller_is_verified_end_to_end
);

async fn without_attestation_only_trust_any_skips_the_pin(engine: Engine, test: &str) {
    let Some((app, _api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (_, view) = call(&app, &call_uuid(), "8613800138000").await;
    assert_eq!(view["verification"], "pin_required");
    assert_eq!(view["attestation"], Value::Null);
    app.shutdown().await;

    // With `security.caller_id_trust = "any"` the registered number is
    // trusted though Plivo attests nothing.
    let api = PlivoApi::start(AUTH_ID, AUTH_TOKEN).await;
    let base = api.base_url();
    let opts = Options {
        tweak: Box::new(move |s| {
            plivo_settings(s, base);
            s.security.caller_id_trust = CallerIdTrust::Any;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let (_, view) = call(&app, &call_uuid(), "8613800138000").await;
    assert_eq!(view["verification"], "trusted_number");
    app.shutdown().await;
}
on_both_engines!(
    without_attestation_only_trust_any_skips_the_pin,
    without_attestation_only_trust_any_skips_the_pin
);

async fn an_unknown_caller_keys_the_account_number_through_get_digits(engine: Engine, test: &str) {
    let Some((app, _api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let uuid = call_uuid();
    let (xml, view) = call(&app, &uuid, "14155550123").await;
    let action = format!(r#"<GetDigits action="{}""#, app.url(INPUT));
    assert!(xml.contains(&action), "{xml}");
    assert_eq!(view["org_id"], Value::Null);

    let keys = [("CallUUID", uuid.as_str()), ("Digits", "40012345#")];
    let resp = post_signed(&app, INPUT, &keys).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let next = resp.text().await.unwrap();
    assert!(next.contains("<Conference>support</Conference>"), "{next}");
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
    an_unknown_caller_keys_the_account_number_through_get_digits,
    an_unknown_caller_keys_the_account_number_through_get_digits
);

async fn an_undelivered_report_moves_the_pin_to_undelivered(engine: Engine, test: &str) {
    let Some((app, api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (_, view) = call(&app, &call_uuid(), "14155550100").await;
    let call_id = view["call_id"].as_str().unwrap().to_string();
    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = api.wait_for(1, WAIT).await;
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    // Interim statuses change nothing.
    for interim in ["queued", "sent"] {
        report(&app, &sms[0].uuid, interim, "0").await;
    }
    report(&app, &sms[0].uuid, "undelivered", "200").await;
    let failed = delivery_reaches(&app, &call_id, &challenge_id, 0, "undelivered").await;
    assert_eq!(failed["provider_message_id"], sms[0].uuid.as_str());
    let reported = app.events("message_delivery_reported").await;
    assert_eq!(reported.len(), 1, "{reported:#?}");
    assert_eq!(reported[0]["actor"], "provider:plivo");
    assert_eq!(reported[0]["detail"]["provider_status"], "undelivered");
    assert_eq!(reported[0]["detail"]["error_code"], "200");
    app.shutdown().await;
}
on_both_engines!(
    an_undelivered_report_moves_the_pin_to_undelivered,
    an_undelivered_report_moves_the_pin_to_undelivered
);
