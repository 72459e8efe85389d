//! A caller through Vonage, end to end: a signed answer webhook (a GET, as
//! Vonage sends by default) is classified (Vonage reports no attestation),
//! the PIN goes out through the SMS API, its delivery receipt arrives
//! signed, the PIN checks and the grant is issued; the IVR and the call's
//! end go through Vonage's routes too.

use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::delivery::delivery_reaches;
use crate::on_both_engines;
use crate::support::app::{Engine, extract_pin};

/// The NCCO a signed answer gets, and the call as the API shows it.
async fn answered(app: &TestApp, resp: reqwest::Response, uuid: &str) -> (Value, Value) {
    assert_eq!(resp.status(), StatusCode::OK, "answer webhook");
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with(JSON), "{content_type}");
    let ncco: Value = resp.json().await.unwrap();
    assert!(ncco.is_array(), "{ncco}");
    let call_id = app.call_id_for(uuid).await;
    (ncco, call_view(app, &call_id).await)
}

/// The call as an agent sees it.
async fn call_view(app: &TestApp, call_id: &str) -> Value {
    let (status, view) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view
}

/// The NCCO's first action that `pick` chooses.
fn action(ncco: &Value, pick: impl Fn(&Value) -> bool) -> Option<&Value> {
    ncco.as_array().unwrap().iter().find(|a| pick(a))
}

fn has_action(ncco: &Value, action_name: &str, key: &str, value: &str) -> bool {
    action(ncco, |a| a["action"] == action_name && a[key] == value).is_some()
}

/// A call from contoso's registered number, answered by a signed GET:
/// its uuid and call id.
async fn registered_call(app: &TestApp) -> (String, String) {
    let uuid = call_uuid();
    let resp = get_signed(app, ANSWER, &answer_query(&uuid, "+14155550100")).await;
    let (_, view) = answered(app, resp, &uuid).await;
    (uuid, view["call_id"].as_str().unwrap().to_string())
}

async fn a_vonage_caller_is_verified_end_to_end(engine: Engine, test: &str) {
    let Some((app, api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;

    // A registered number, but Vonage reports no attestation: a PIN.
    let uuid = call_uuid();
    let query = answer_query(&uuid, "+14155550100");
    let resp = get_signed(&app, ANSWER, &query).await;
    let (ncco, view) = answered(&app, resp, &uuid).await;
    assert!(
        has_action(&ncco, "conversation", "name", "support"),
        "{ncco}"
    );
    assert_eq!(view["provider"], "vonage");
    assert_eq!(view["org_id"], "contoso");
    assert_eq!(view["verification"], "pin_required");
    assert_eq!(view["attestation"], Value::Null);
    let call_id = view["call_id"].as_str().unwrap().to_string();

    // Vonage retrying the answer (a new token) is the same call.
    let resp = get_signed(&app, ANSWER, &query).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.call_id_for(&uuid).await, call_id);

    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = api.wait_for(1, WAIT).await;
    assert_eq!(sms[0].to, "14155550199", "numbers go to Vonage without +");
    assert_eq!(sms[0].from, "18005550122");
    assert_eq!(
        sms[0].callback.as_deref(),
        Some(app.url(MESSAGE_STATUS).as_str())
    );
    assert_eq!(sms[0].status_report_req.as_deref(), Some("1"));
    let sent = delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    assert_eq!(sent["provider_message_id"], sms[0].id.as_str());

    // The SMS API signs its receipts with `sig` (no JWT), as a form POST.
    let params = receipt_params(&sms[0].id, "delivered", "0");
    let form = sms_signed_form(SECRET, &params, now_secs(&app));
    let resp = send(
        &app,
        reqwest::Method::POST,
        MESSAGE_STATUS,
        Some(FORM),
        &form,
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    delivery_reaches(&app, &call_id, &challenge_id, 0, "delivered").await;

    let pin = extract_pin(&sms[0].text, app.settings.pin.length);
    let (status, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved");
    assert_eq!(r["grant"]["org_id"], "contoso");

    // Progress events change nothing; the caller hanging up ends the call.
    for (status, ended) in [("answered", "active"), ("completed", "ended")] {
        let resp = post_signed(&app, EVENT, &event_json(&uuid, status)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let now = call_view(&app, &call_id).await;
        assert_eq!(now["status"], ended, "after {status}");
    }
    app.shutdown().await;
}
on_both_engines!(
    a_vonage_caller_is_verified_end_to_end,
    a_vonage_caller_is_verified_end_to_end
);

async fn an_unknown_caller_keys_the_account_number_through_an_ncco(engine: Engine, test: &str) {
    let Some((app, _api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    // The answer webhook as a POST of JSON (answer_method = POST).
    let uuid = call_uuid();
    let resp = post_signed(&app, ANSWER, &answer_json(&uuid, "+14155550123")).await;
    let (ncco, view) = answered(&app, resp, &uuid).await;
    let input =
        action(&ncco, |a| a["action"] == "input").unwrap_or_else(|| panic!("no input in {ncco}"));
    assert_eq!(input["eventUrl"][0], app.url(INPUT).as_str());
    assert_eq!(input["dtmf"]["submitOnHash"], true);
    assert_eq!(view["org_id"], Value::Null);
    assert_eq!(view["verification"], "pin_required");

    // A timed-out input (no keys) is asked again, as Vonage reports it here.
    let resp = post_signed(&app, INPUT, &input_json(&uuid, "")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let again: Value = resp.json().await.unwrap();
    let input_url = app.url(INPUT);
    let asks_again = action(&again, |a| {
        a["action"] == "input" && a["eventUrl"][0] == input_url.as_str()
    });
    assert!(asks_again.is_some(), "{again}");

    let resp = post_signed(&app, INPUT, &input_json(&uuid, "40012345")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let next: Value = resp.json().await.unwrap();
    assert!(
        has_action(&next, "conversation", "name", "support"),
        "{next}"
    );
    let view = call_view(&app, view["call_id"].as_str().unwrap()).await;
    assert_eq!(view["org_id"], "contoso");
    app.shutdown().await;
}
on_both_engines!(
    an_unknown_caller_keys_the_account_number_through_an_ncco,
    an_unknown_caller_keys_the_account_number_through_an_ncco
);

async fn a_failed_receipt_moves_the_pin_to_undelivered(engine: Engine, test: &str) {
    let Some((app, api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (_, call_id) = registered_call(&app).await;
    let challenge_id = app.challenge(&call_id, "sms").await;
    let sms = api.wait_for(1, WAIT).await;
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    // Interim receipts change nothing; this one comes as a GET (the
    // dashboard's "GET" method), signed over the empty body.
    for interim in ["accepted", "buffered", "unknown"] {
        let query = format!("messageId={}&status={interim}&err-code=0", sms[0].id);
        let resp = get_signed(&app, MESSAGE_STATUS, &query).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }
    let query = format!(
        "msisdn=14155550199&messageId={}&status=rejected&err-code=6",
        sms[0].id
    );
    let resp = get_signed(&app, MESSAGE_STATUS, &query).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let failed = delivery_reaches(&app, &call_id, &challenge_id, 0, "undelivered").await;
    assert_eq!(failed["provider_message_id"], sms[0].id.as_str());
    let reported = app.events("message_delivery_reported").await;
    assert_eq!(reported.len(), 1, "{reported:#?}");
    assert_eq!(reported[0]["actor"], "provider:vonage");
    assert_eq!(reported[0]["detail"]["provider_status"], "rejected");
    assert_eq!(reported[0]["detail"]["error_code"], "6");
    app.shutdown().await;
}
on_both_engines!(
    a_failed_receipt_moves_the_pin_to_undelivered,
    a_failed_receipt_moves_the_pin_to_undelivered
);

async fn a_refused_sms_fails_for_good(engine: Engine, test: &str) {
    let Some((app, api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (_, call_id) = registered_call(&app).await;
    // Status 3 (invalid parameter) in a 200 answer is a final refusal.
    api.refuse_next("3");
    let challenge_id = app.challenge(&call_id, "sms").await;
    api.wait_for_requests(1, WAIT).await;
    let failed = delivery_reaches(&app, &call_id, &challenge_id, 0, "failed").await;
    assert!(api.messages().is_empty());
    let error = failed["last_error"].as_str().expect("a reason is shown");
    assert!(error.contains("Vonage 200 code 3"), "{error}");
    app.shutdown().await;
}
on_both_engines!(a_refused_sms_fails_for_good, a_refused_sms_fails_for_good);
