//! What is not Vonage's is refused: no token, a forged or tampered one, a
//! body its `payload_hash` does not cover, a stale or future `iat`, a
//! replayed `jti`, a receipt without a good SMS API `sig`; each answers
//! 403, leaves exactly one audit event and records nothing. Without `vonage.signature_secret` the webhooks answer
//! 503 and the configuration's warnings say why.

use reqwest::{Method, StatusCode};

use super::*;
use crate::on_both_engines;
use crate::support::app::Engine;
use crate::support::refusals::{REFUSED, Refusals, calls_recorded, not_configured};

async fn forged_stale_and_replayed_requests_are_refused_and_audited(engine: Engine, test: &str) {
    let Some((app, _api)) = spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let body = answer_json(&call_uuid(), "+8613800138000");
    let now = now_secs(&app);
    let post = |auth: Option<String>, body: String| {
        let app = &app;
        async move { send(app, Method::POST, ANSWER, Some(JSON), &body, auth).await }
    };
    let token = |secret: &str, iat: i64, jti: &str| bearer(secret, &claims(&body, iat, jti));
    let mut refused = Refusals::new("provider:vonage");

    let resp = post(None, body.clone()).await;
    refused.expect(&app, resp, "unsigned").await;

    let resp = post(Some(token("another-secret", now, "j1")), body.clone()).await;
    refused.expect(&app, resp, "another secret").await;

    let tampered = body.replace("8613800138000", "8613800138001");
    let resp = post(Some(token(SECRET, now, "j2")), tampered).await;
    refused.expect(&app, resp, "body not the hashed one").await;

    let good = token(SECRET, now, "j3");
    let (head, _sig) = good.rsplit_once('.').unwrap();
    let resp = post(Some(format!("{head}.AAAA")), body.clone()).await;
    refused.expect(&app, resp, "forged signature").await;

    // Well past the 300 s either way, so the server's clock moving on
    // during the test cannot bring them back (the exact edge is in the
    // unit tests and vectors).
    for iat in [now - 360, now + 360] {
        let resp = post(
            Some(token(SECRET, iat, &format!("stale-{iat}"))),
            body.clone(),
        )
        .await;
        refused.expect(&app, resp, "stale").await;
    }
    assert_eq!(calls_recorded(&app).await, 0, "nothing refused is recorded");

    // Four minutes old is still fresh; the same jti again is a replay,
    // even under a newly signed token.
    let edge = token(SECRET, now - 240, "jti-once");
    let resp = post(Some(edge.clone()), body.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(calls_recorded(&app).await, 1);
    let resp = post(Some(edge), body.clone()).await;
    refused.expect(&app, resp, "replay").await;
    let resp = post(Some(token(SECRET, now, "jti-once")), body.clone()).await;
    refused.expect(&app, resp, "replayed jti").await;
    let events = app.events(REFUSED).await;
    let reason = &events.last().unwrap()["detail"]["reason"];
    assert!(reason.as_str().unwrap().contains("replay"), "{reason}");
    assert_eq!(calls_recorded(&app).await, 1);

    // A GET's token covers the empty body only: one made for a body fails.
    let query = answer_query(&call_uuid(), "+8613800138000");
    let url = format!("{ANSWER}?{query}");
    let resp = send(
        &app,
        Method::GET,
        &url,
        None,
        "",
        Some(token(SECRET, now, "g1")),
    )
    .await;
    refused.expect(&app, resp, "GET with a body's token").await;

    // A delivery receipt is checked the same way.
    let receipt = receipt_json("0A0000001234567B", "delivered", "0");
    let auth = bearer("another-secret", &claims(&receipt, now, "r1"));
    let resp = send(
        &app,
        Method::POST,
        MESSAGE_STATUS,
        Some(JSON),
        &receipt,
        Some(auth),
    )
    .await;
    refused.expect(&app, resp, "forged receipt").await;

    // Without a JWT a receipt needs the SMS API's `sig`: none, another
    // secret's, a stale one and a replay are refused.
    let params = receipt_params("0A0000001234567B", "delivered", "0");
    let plain = serde_urlencoded::to_string(&params).unwrap();
    let form = |secret: &str, ts: i64| sms_signed_form(secret, &params, ts);
    let receipt = |body: String| {
        let app = &app;
        async move { send(app, Method::POST, MESSAGE_STATUS, Some(FORM), &body, None).await }
    };
    let why = [
        (plain, "unsigned receipt"),
        ("messageId=%FF".to_string(), "unreadable receipt"),
        (form("another-secret", now), "receipt by another secret"),
        (form(SECRET, now - 360), "stale receipt"),
    ];
    for (body, reason) in why {
        refused.expect(&app, receipt(body).await, reason).await;
    }
    let good = form(SECRET, now);
    assert_eq!(receipt(good.clone()).await.status(), StatusCode::NO_CONTENT);
    refused
        .expect(&app, receipt(good).await, "replayed receipt")
        .await;
    app.shutdown().await;
}
on_both_engines!(
    forged_stale_and_replayed_requests_are_refused_and_audited,
    forged_stale_and_replayed_requests_are_refused_and_audited
);

async fn without_a_signature_secret_the_webhooks_answer_503(engine: Engine, test: &str) {
    let api = VonageApi::start(API_KEY, API_SECRET).await;
    let base = api.base_url();
    let opts = Options {
        tweak: Box::new(move |s| {
            vonage_settings(s, base);
            s.vonage.signature_secret = None;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    let mut responses = Vec::new();
    for path in [ANSWER, INPUT, EVENT, MESSAGE_STATUS] {
        responses.push((path, post_signed(&app, path, r#"{"uuid":"u"}"#).await));
    }
    responses.push((ANSWER, get_signed(&app, ANSWER, "uuid=u&to=1").await));
    not_configured(&app, responses, "vonage.signature_secret").await;
    app.shutdown().await;
}
on_both_engines!(
    without_a_signature_secret_the_webhooks_answer_503,
    without_a_signature_secret_the_webhooks_answer_503
);
