//! Providers' error texts name the recipient (an SMTP 550 quotes the
//! address, Twilio's 21211 the number). Only the error's class and code
//! reach the delivery status, the audit trail and the API.

use serde_json::Value;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

use super::{contoso_call, delivery_reaches, events_for, options};

/// Everything a reviewer and an agent can read about one challenge.
async fn visible_text(app: &TestApp, call_id: &str, challenge_id: &str) -> String {
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    let (_, audit) = app.get(&app.reviewer_token, "/v1/audit?limit=1000").await;
    let failed: Vec<Value> = events_for(app, "message_failed", challenge_id).await;
    format!("{call}\n{audit}\n{failed:?}")
}

async fn provider_errors_keep_class_and_code_and_drop_addresses(engine: Engine, test: &str) {
    let opts = options(|s| s.delivery.max_attempts = 1);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;

    app.smtp.fail_next(
        1,
        550,
        "5.1.1 <it-admin@contoso.example>: Recipient address rejected: User unknown in virtual mailbox table",
    );
    let call = contoso_call(&app).await;
    let ch = app.challenge(&call, "email").await;
    let failed = delivery_reaches(&app, &call, &ch, 0, "failed").await;
    let error = failed["last_error"].as_str().expect("a reason is shown");
    assert!(error.contains("550"), "{error}");
    let ev = events_for(&app, "message_failed", &ch).await;
    assert!(
        ev[0]["detail"]["reason"].as_str().unwrap().contains("550"),
        "{ev:?}"
    );
    let seen = visible_text(&app, &call, &ch).await;
    // The masked destination (i***@contoso.example) is shown by design.
    for leak in ["it-admin@", "Recipient address rejected"] {
        assert!(!seen.contains(leak), "{leak} is shown: {error}");
    }

    app.sms.fail_next(1, 400, 21211);
    let call = contoso_call(&app).await;
    let ch = app.challenge(&call, "sms").await;
    let failed = delivery_reaches(&app, &call, &ch, 0, "failed").await;
    let error = failed["last_error"].as_str().expect("a reason is shown");
    assert!(error.contains("21211") && error.contains("400"), "{error}");
    let seen = visible_text(&app, &call, &ch).await;
    for leak in ["+14155550199", "4155550199", "is not a valid phone number"] {
        assert!(!seen.contains(leak), "{leak} is shown: {error}");
    }
    app.shutdown().await;
}
on_both_engines!(
    provider_errors_keep_class_and_code_and_drop_addresses,
    provider_errors_keep_class_and_code_and_drop_addresses
);
