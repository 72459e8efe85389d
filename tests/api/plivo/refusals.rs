//! What is not Plivo's is refused: no signature, a forged or tampered
//! one, a nonce other than the one signed, a URL other than the one
//! signed, a replayed nonce; each answers 403, leaves exactly one audit
//! event and records nothing. Without `plivo.auth_token` the webhooks
//! answer 503 and `config check` says why.

use reqwest::StatusCode;

use super::*;
use crate::on_both_engines;
use crate::support::app::Engine;
use crate::support::refusals::{REFUSED, Refusals, calls_recorded, not_configured};

async fn forged_and_replayed_requests_are_refused_and_audited(engine: Engine, test: &str) {
    let Some((app, _api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let uuid = call_uuid();
    let params = answer_params(&uuid, "8613800138000");
    let mut refused = Refusals::new("provider:plivo");

    let unsigned = post_with(&app, ANSWER, &params, &[]).await;
    refused.expect(&app, unsigned, "unsigned").await;

    let n = nonce();
    let forged = signed_headers(&app, "another-accounts-token", ANSWER, &params, &n);
    let resp = post_with(&app, ANSWER, &params, &forged).await;
    refused.expect(&app, resp, "another token").await;

    let signed = signed_headers(&app, AUTH_TOKEN, ANSWER, &params, &n);
    let tampered = answer_params(&uuid, "8613800138001");
    let resp = post_with(&app, ANSWER, &tampered, &signed).await;
    refused.expect(&app, resp, "tampered body").await;

    let mut other_nonce = signed.clone();
    other_nonce[1].1 = nonce();
    let resp = post_with(&app, ANSWER, &params, &other_nonce).await;
    refused.expect(&app, resp, "another nonce").await;

    // Signed for the input route, sent to the answer route.
    let elsewhere = signed_headers(&app, AUTH_TOKEN, INPUT, &params, &nonce());
    let resp = post_with(&app, ANSWER, &params, &elsewhere).await;
    refused.expect(&app, resp, "another URL").await;
    assert_eq!(calls_recorded(&app).await, 0, "nothing refused is recorded");

    // One good signature among several passes; the same nonce again is a
    // replay, even re-signed.
    let mut several = signed.clone();
    several[0].1 = format!("bm90LWl0,{}", several[0].1);
    let resp = post_with(&app, ANSWER, &params, &several).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(calls_recorded(&app).await, 1);
    let resp = post_with(&app, ANSWER, &params, &signed).await;
    refused.expect(&app, resp, "replay").await;
    let events = app.events(REFUSED).await;
    let reason = &events.last().unwrap()["detail"]["reason"];
    assert!(reason.as_str().unwrap().contains("replay"), "{reason}");
    assert_eq!(calls_recorded(&app).await, 1);

    // A delivery report is checked the same way.
    let report = [
        ("MessageUUID", "db3ce55a-7f1d-11e1-8ea7-1231380bc196"),
        ("Status", "delivered"),
    ];
    let forged = signed_headers(
        &app,
        "another-accounts-token",
        MESSAGE_STATUS,
        &report,
        &nonce(),
    );
    let resp = post_with(&app, MESSAGE_STATUS, &report, &forged).await;
    refused.expect(&app, resp, "forged report").await;
    app.shutdown().await;
}
on_both_engines!(
    forged_and_replayed_requests_are_refused_and_audited,
    forged_and_replayed_requests_are_refused_and_audited
);

async fn without_an_auth_token_the_webhooks_answer_503(engine: Engine, test: &str) {
    let api = PlivoApi::start(AUTH_ID, AUTH_TOKEN).await;
    let base = api.base_url();
    let opts = Options {
        tweak: Box::new(move |s| {
            plivo_settings(s, base);
            s.plivo.auth_token = None;
            // The SMS sender needs the token too; only the webhooks are
            // under test here.
            s.sms.transport = SmsTransport::File;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    let mut responses = Vec::new();
    for path in [ANSWER, INPUT, HANGUP, MESSAGE_STATUS] {
        responses.push((path, post_signed(&app, path, &[("CallUUID", "x")]).await));
    }
    not_configured(&app, responses, "plivo.auth_token").await;
    app.shutdown().await;
}
on_both_engines!(
    without_an_auth_token_the_webhooks_answer_503,
    without_an_auth_token_the_webhooks_answer_503
);
