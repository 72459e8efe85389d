//! The IVR: wrong account numbers reprompt, then enqueue without an org; the
//! right one attaches the org but never trusts the caller.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::errors::audit_events;
use crate::on_both_engines;
use crate::support::app::{AUTH_TOKEN, Engine, Options, TestApp, call_sid};
use crate::support::twilio_signer::{form_body, sign_form};

use super::{FORM, GATHER, call_view, expect_twiml, gather, post_raw};

async fn wrong_account_numbers_reprompt_then_enqueue_without_org(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| s.voice.ivr_attempts = 4),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let attempts = app.settings.voice.ivr_attempts;
    let sid = call_sid();
    let twiml = app
        .call(&sid, "+14155550123", Some("TN-Validation-Passed-A"))
        .await;
    assert!(twiml.contains("<Gather"), "{twiml}");

    // Twilio retries a delivery with the same idempotency token: the
    // retry gets the same answer and is not another attempt.
    let params = [("CallSid", sid.as_str()), ("Digits", "31415926")];
    let signature = sign_form(&app.url(GATHER), &params, AUTH_TOKEN);
    let mut retried = Vec::new();
    for _ in 0..2 {
        let resp = post_raw(
            &app,
            &app.url(GATHER),
            FORM,
            form_body(&params),
            &[
                ("x-twilio-signature", &signature),
                ("i-twilio-idempotency-token", "idem-gather-retry-1"),
            ],
        )
        .await;
        retried.push(expect_twiml(resp).await);
    }
    assert_eq!(retried[0], retried[1]);
    assert!(retried[0].contains("<Gather"), "{}", retried[0]);
    assert_eq!(audit_events(&app, "call_org_not_found").await.len(), 1);

    for attempt in 2..attempts {
        let twiml = gather(&app, &sid, if attempt % 2 == 0 { "99999999" } else { "" }).await;
        assert!(
            twiml.contains("<Gather"),
            "attempt {attempt} re-prompts: {twiml}"
        );
    }
    let twiml = gather(&app, &sid, "12345678").await;
    assert!(
        !twiml.contains("<Gather"),
        "after {attempts} attempts: {twiml}"
    );
    assert!(twiml.contains("<Enqueue>support</Enqueue>"), "{twiml}");

    let call = call_view(&app, &app.call_id_for(&sid).await).await;
    assert_eq!(call["org_id"], Value::Null, "{call}");
    assert_eq!(call["verification"], "pin_required", "{call}");
    assert_eq!(call["status"], "active", "{call}");
    assert_eq!(
        audit_events(&app, "call_org_not_found").await.len() as u32,
        attempts
    );
    app.shutdown().await;
}
on_both_engines!(
    wrong_account_numbers_reprompt_then_enqueue_without_org,
    wrong_account_numbers_reprompt_then_enqueue_without_org
);

const FABRIKAM: &str = r#"
[[org]]
id = "fabrikam"
name = "Fabrikam Inc"
account_number = "70012345"
registered_numbers = ["+14155550123"]
channels = ["email"]
[org.contacts]
email = "security@fabrikam.example"
"#;

async fn right_account_number_attaches_the_org_but_never_trusts(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;

    // The caller's number becomes registered to another org after the call
    // arrived; keying contoso's account number names contoso, unverified.
    let sid = call_sid();
    let twiml = app
        .call(&sid, "+14155550123", Some("TN-Validation-Passed-A"))
        .await;
    assert!(twiml.contains("<Gather"), "{twiml}");
    app.import_toml(FABRIKAM).await;
    let twiml = gather(&app, &sid, "40012345").await;
    assert!(!twiml.contains("<Gather"), "{twiml}");
    assert!(twiml.contains("<Enqueue>support</Enqueue>"), "{twiml}");
    let call = call_view(&app, &app.call_id_for(&sid).await).await;
    assert_eq!(call["org_id"], "contoso", "{call}");
    assert_eq!(call["org_source"], "ivr", "{call}");
    assert_eq!(call["verification"], "pin_required", "{call}");

    // Even a number registered to the very org keyed in is not trusted
    // through the keypad.
    let sid = call_sid();
    app.call(&sid, "+14155550124", Some("TN-Validation-Passed-A"))
        .await;
    let (status, org) = app
        .post(
            &app.admin_token,
            "/v1/orgs/contoso/numbers",
            json!({ "number": "+14155550124" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    gather(&app, &sid, "40012345").await;
    let call = call_view(&app, &app.call_id_for(&sid).await).await;
    assert_eq!(call["org_id"], "contoso", "{call}");
    assert_eq!(call["verification"], "pin_required", "{call}");

    // Digits cannot move a call whose org is already known.
    let sid = call_sid();
    app.call(&sid, "+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    gather(&app, &sid, "70012345").await;
    let call = call_view(&app, &app.call_id_for(&sid).await).await;
    assert_eq!(call["org_id"], "contoso", "{call}");
    assert_eq!(call["org_source"], "number", "{call}");
    assert_eq!(call["verification"], "trusted_number", "{call}");
    app.shutdown().await;
}
on_both_engines!(
    right_account_number_attaches_the_org_but_never_trusts,
    right_account_number_attaches_the_org_but_never_trusts
);

/// With the IVR off, an unknown caller is queued straight away: no
/// account-number prompt, no org, a PIN required once the agent names one.
async fn without_the_ivr_an_unknown_caller_is_enqueued_at_once(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| s.voice.ivr_enabled = false),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let sid = call_sid();
    let twiml = app
        .call(&sid, "+14155550123", Some("TN-Validation-Passed-A"))
        .await;
    assert!(!twiml.contains("<Gather"), "{twiml}");
    assert!(
        twiml.contains(&format!("<Enqueue>{}</Enqueue>", app.settings.voice.queue)),
        "{twiml}"
    );
    let call = call_view(&app, &app.call_id_for(&sid).await).await;
    assert_eq!(call["org_id"], Value::Null, "{call}");
    assert_eq!(call["verification"], "pin_required", "{call}");
    // A registered caller is still recognised by number.
    let twiml = app
        .call(&call_sid(), "+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    assert!(!twiml.contains("<Gather"), "{twiml}");
    app.shutdown().await;
}
on_both_engines!(
    without_the_ivr_an_unknown_caller_is_enqueued_at_once,
    without_the_ivr_an_unknown_caller_is_enqueued_at_once
);
