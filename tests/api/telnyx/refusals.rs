//! What is not Telnyx's is refused: no signature, a forged or tampered
//! one, a stale or future timestamp, a replay; each answers 403, leaves
//! exactly one audit event and records nothing. Without `telnyx.public_key`
//! the webhooks answer 503 and `config check` says why.

use reqwest::StatusCode;

use super::*;
use crate::on_both_engines;
use crate::support::app::Engine;
use crate::support::refusals::{REFUSED, Refusals, calls_recorded, not_configured};

async fn forged_stale_and_replayed_requests_are_refused_and_audited(engine: Engine, test: &str) {
    let Some((app, _api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let body = voice_body(&call_sid(), "+8613800138000", Some(("A", "true")));
    let now = now_secs(&app);
    let key = signing_key();
    let other = SigningKey::from_bytes(&[0x11; 32]);
    let headers = |sig: String, ts: i64| {
        vec![
            ("telnyx-signature-ed25519", sig),
            ("telnyx-timestamp", ts.to_string()),
        ]
    };
    let mut refused = Refusals::new("provider:telnyx");

    let unsigned = post_with(&app, VOICE, FORM, &body, &[]).await;
    refused.expect(&app, unsigned, "unsigned").await;

    let forged = headers(sign(&other, &now.to_string(), &body), now);
    let resp = post_with(&app, VOICE, FORM, &body, &forged).await;
    refused.expect(&app, resp, "another key").await;

    let signed = headers(sign(&key, &now.to_string(), &body), now);
    let tampered = body.replace("8613800138000", "8613800138001");
    let resp = post_with(&app, VOICE, FORM, &tampered, &signed).await;
    refused.expect(&app, resp, "tampered body").await;

    // Well past the 300 s either way, so the server's clock moving on
    // during the test cannot bring them back (the exact edge is in the
    // unit tests and vectors).
    for ts in [now - 360, now + 360] {
        let stale = headers(sign(&key, &ts.to_string(), &body), ts);
        let resp = post_with(&app, VOICE, FORM, &body, &stale).await;
        refused.expect(&app, resp, "stale").await;
    }
    assert_eq!(calls_recorded(&app).await, 0, "nothing refused is recorded");

    // Four minutes old is still fresh; the same signature again is a replay.
    let edge = headers(sign(&key, &(now - 240).to_string(), &body), now - 240);
    let resp = post_with(&app, VOICE, FORM, &body, &edge).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(calls_recorded(&app).await, 1);
    let resp = post_with(&app, VOICE, FORM, &body, &edge).await;
    refused.expect(&app, resp, "replay").await;
    let events = app.events(REFUSED).await;
    let reason = &events.last().unwrap()["detail"]["reason"];
    assert!(reason.as_str().unwrap().contains("replay"), "{reason}");
    assert_eq!(calls_recorded(&app).await, 1);

    // A delivery report is checked the same way.
    let report = message_event("40385f64-5717-4562-b3fc-2c963f66afa6", "delivered", None);
    let forged = headers(sign(&other, &now.to_string(), &report), now);
    let resp = post_with(&app, MESSAGE_STATUS, "application/json", &report, &forged).await;
    refused.expect(&app, resp, "forged report").await;
    app.shutdown().await;
}
on_both_engines!(
    forged_stale_and_replayed_requests_are_refused_and_audited,
    forged_stale_and_replayed_requests_are_refused_and_audited
);

async fn without_a_public_key_the_webhooks_answer_503(engine: Engine, test: &str) {
    let api = TelnyxApi::start(API_KEY).await;
    let base = api.base_url();
    let opts = Options {
        tweak: Box::new(move |s| {
            telnyx_settings(s, base);
            s.telnyx.public_key = None;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    let mut responses = Vec::new();
    for path in [VOICE, GATHER, STATUS, MESSAGE_STATUS] {
        responses.push((path, post_signed(&app, path, FORM, "CallSid=v3%3Ax").await));
    }
    not_configured(&app, responses, "telnyx.public_key").await;
    app.shutdown().await;
}
on_both_engines!(
    without_a_public_key_the_webhooks_answer_503,
    without_a_public_key_the_webhooks_answer_503
);
