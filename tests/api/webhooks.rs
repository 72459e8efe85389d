//! Twilio's webhooks against the running server: signatures (random
//! inputs, every forgery, port variants, HMAC-SHA256 shared keys, JSON
//! bodies), idempotent calls, caller classification and trust, the IVR, call
//! status and SMS delivery status. Requests are signed by the independent
//! signer in `support::twilio_signer` (and, for HMAC-SHA256, by the few lines
//! below), never by pingate's own code.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::errors::{audit_events, audit_len, expect_problem, without_delivery};
use crate::on_both_engines;
use crate::support::app::{ACCOUNT_SID, AUTH_TOKEN, Engine, Options, TestApp, call_sid};
use crate::support::twilio_signer::{form_body, sign_form, sign_json, with_body_sha256};
use pingate::config::{CallerIdTrust, Secret};

const VOICE: &str = "/webhooks/twilio/voice";
const GATHER: &str = "/webhooks/twilio/gather";
const STATUS: &str = "/webhooks/twilio/status";
const MESSAGE_STATUS: &str = "/webhooks/twilio/message-status";
const FORM: &str = "application/x-www-form-urlencoded";

/// Posts `body` to `request_url` with the given extra headers.
async fn post_raw(
    app: &TestApp,
    request_url: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(request_url)
        .header("content-type", content_type)
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("webhook request")
}

/// Posts a form webhook to `app.url(path)` whose signature was computed over
/// `signed_url` instead (the public URL the provider used).
async fn post_signed_as(
    app: &TestApp,
    path: &str,
    signed_url: &str,
    params: &[(&str, &str)],
) -> reqwest::Response {
    let signature = sign_form(signed_url, params, AUTH_TOKEN);
    post_raw(
        app,
        &app.url(path),
        FORM,
        form_body(params),
        &[("x-twilio-signature", &signature)],
    )
    .await
}

/// HMAC-SHA256 over the URL and the sorted parameters, base64: the shared
/// key variant, computed here from the description in DESIGN.md.
fn sign_form_sha256(url: &str, params: &[(&str, &str)], key: &str) -> String {
    let mut by_name: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in params {
        by_name.entry(name).or_default().insert(value);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(url.as_bytes());
    for (name, values) in &by_name {
        for value in values {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
    }
    BASE64.encode(mac.finalize().into_bytes())
}

fn voice_params<'a>(sid: &'a str, from: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CallSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("To", "+18005550100"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ]
}

async fn calls_for(app: &TestApp, sid: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &app.agent_token,
            &format!("/v1/calls?provider_call_id={sid}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

async fn all_calls(app: &TestApp) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = "/v1/calls?limit=200".to_string();
    loop {
        let (status, body) = app.get(&app.agent_token, &path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        all.extend(body["items"].as_array().expect("items").iter().cloned());
        match body["next"].as_str() {
            Some(next) => path = format!("/v1/calls?limit=200&cursor={next}"),
            None => return all,
        }
    }
}

async fn call_view(app: &TestApp, call_id: &str) -> Value {
    let (status, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    call
}

async fn expect_twiml(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), StatusCode::OK);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/xml"), "{ctype}");
    let text = resp.text().await.unwrap();
    assert!(text.contains("<Response>"), "{text}");
    text
}

async fn expect_forbidden(resp: reqwest::Response, what: &str) {
    let status = resp.status();
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
    let body = expect_problem(resp, StatusCode::FORBIDDEN).await;
    assert_eq!(
        body["type"], "urn:pingate:problem:bad-signature",
        "{what}: {body}"
    );
}

// ---------------------------------------------------------------------------
// Forgeries on random inputs

/// One randomly generated voice webhook and the ways to forge it.
#[derive(Debug, Clone)]
struct Case {
    call_sid: String,
    from: String,
    /// Every parameter, repeated names included, in body order.
    params: Vec<(String, String)>,
    /// Which parameter the "changed" forgery alters.
    change: Index,
    /// The parameter the "added" forgery appends.
    added: (String, String),
    /// How the "URL changed" forgery differs (see `forged_url`).
    url_variant: u8,
    /// A key that is not the auth token.
    other_token: String,
}

/// A forged request: where it goes, its body, its signature header.
struct Forgery {
    what: &'static str,
    target: String,
    body: String,
    signature: Option<String>,
}

fn value_strategy() -> BoxedStrategy<String> {
    prop_oneof![
        "\\PC{0,24}",
        "[&=+%#?;/ a-zA-Z0-9]{0,12}",
        Just(String::new()),
    ]
    .boxed()
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let sid = "[0-9a-f]{32}".prop_map(|hex| format!("CA{hex}"));
    let from = prop_oneof![
        "\\+1[2-9][0-9]{9}",
        "\\+44[1-9][0-9]{9}",
        Just("anonymous".to_string()),
        Just("+266696687".to_string()),
        Just(String::new()),
        "client:[a-z]{1,10}",
        "sip:[a-z]{1,8}@[a-z]{1,8}\\.example",
        "\\PC{0,20}",
    ];
    let to = "\\+1[2-9][0-9]{9}";
    // Names outside Twilio's own, so they never collide with a field the
    // handler reads; some repeated with several values.
    let extras = prop::collection::vec(
        (
            "X[A-Za-z0-9_]{0,12}",
            prop::collection::vec(value_strategy(), 1..4),
        ),
        0..4,
    );
    let optional = (
        prop::option::of(value_strategy()),
        prop::option::of(value_strategy()),
    );
    let request =
        (sid, from, to, extras, optional).prop_flat_map(|(sid, from, to, extras, (stir, name))| {
            let mut params = vec![
                ("CallSid".to_string(), sid.clone()),
                ("AccountSid".to_string(), ACCOUNT_SID.to_string()),
                ("From".to_string(), from.clone()),
                ("To".to_string(), to),
                ("CallStatus".to_string(), "ringing".to_string()),
                ("Direction".to_string(), "inbound".to_string()),
            ];
            if let Some(v) = stir {
                params.push(("StirVerstat".to_string(), v));
            }
            if let Some(v) = name {
                params.push(("CallerName".to_string(), v));
            }
            for (key, values) in extras {
                for v in values {
                    params.push((key.clone(), v));
                }
            }
            (Just(sid), Just(from), Just(params).prop_shuffle())
        });
    (
        request,
        any::<Index>(),
        value_strategy(),
        0u8..4,
        "[A-Za-z0-9]{8,40}".prop_filter("not the auth token", |t| t != AUTH_TOKEN),
    )
        .prop_map(
            |((call_sid, from, params), change, added, url_variant, other_token)| Case {
                call_sid,
                from,
                params,
                change,
                added: ("Injected".to_string(), added),
                url_variant,
                other_token,
            },
        )
}

/// `count` cases from a seed (`WEBHOOK_FUZZ_SEED`, 64 hex digits, replays
/// a failing run; otherwise a fresh one, printed).
fn generate_cases(count: usize) -> (String, Vec<Case>) {
    let seed = std::env::var("WEBHOOK_FUZZ_SEED").unwrap_or_else(|_| {
        format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    });
    let bytes = hex::decode(&seed).expect("WEBHOOK_FUZZ_SEED is 64 hex digits");
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = case_strategy();
    let cases = (0..count)
        .map(|_| strategy.new_tree(&mut runner).expect("case").current())
        .collect();
    (seed, cases)
}

fn pairs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// (URL the request goes to, URL the signature covers) for the forgery.
fn forged_url(app: &TestApp, variant: u8) -> (String, String) {
    let real = app.url(VOICE);
    match variant {
        0 => (real.clone(), real.replacen("http://", "https://", 1)),
        1 => (real, app.url(GATHER)),
        2 => (format!("{real}?forged=1"), real),
        _ => (real, format!("http://evil.example{VOICE}")),
    }
}

async fn forgeries_are_refused_on_random_inputs(engine: Engine, test: &str) {
    // Hundreds of webhooks from one address: past the per-address flood
    // shield, which is not what this test is about.
    let opts = Options {
        tweak: Box::new(|s| {
            s.limits.webhook_per_second = 100_000;
            s.limits.webhook_burst = 100_000;
            s.limits.api_per_second = 100_000;
            s.limits.api_burst = 100_000;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    // WEBHOOK_FUZZ_CASES raises the count for a longer local run.
    let count = std::env::var("WEBHOOK_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let (seed, cases) = generate_cases(count);
    eprintln!("{test}: WEBHOOK_FUZZ_SEED={seed}");
    let mut events = audit_len(&app).await;
    let mut sig_fails = 0usize;

    for (n, case) in cases.iter().enumerate() {
        let ctx = format!("case {n} (WEBHOOK_FUZZ_SEED={seed}): {case:?}");
        let params = pairs(&case.params);
        let url = app.url(VOICE);
        let good_sig = sign_form(&url, &params, AUTH_TOKEN);

        // One parameter changed to a value the name did not have.
        let mut changed = case.params.clone();
        let i = case.change.index(changed.len());
        let key = changed[i].0.clone();
        let mut new_value = format!("{}~", changed[i].1);
        while case
            .params
            .iter()
            .any(|(k, v)| *k == key && *v == new_value)
        {
            new_value.push('~');
        }
        changed[i].1 = new_value;
        let mut added = case.params.clone();
        added.push(case.added.clone());
        let (forged_target, forged_signed) = forged_url(&app, case.url_variant);
        let other_sig = sign_form(&url, &params, &case.other_token);

        let signed = |what, target: &str, body, signature: String| Forgery {
            what,
            target: target.to_string(),
            body,
            signature: Some(signature),
        };
        let forgeries = vec![
            signed(
                "one parameter changed",
                &url,
                form_body(&pairs(&changed)),
                good_sig.clone(),
            ),
            signed(
                "a parameter added",
                &url,
                form_body(&pairs(&added)),
                good_sig.clone(),
            ),
            signed(
                "the URL changed",
                &forged_target,
                form_body(&params),
                sign_form(&forged_signed, &params, AUTH_TOKEN),
            ),
            signed(
                "signed with another token",
                &url,
                form_body(&params),
                other_sig,
            ),
            Forgery {
                what: "no signature",
                target: url.clone(),
                body: form_body(&params),
                signature: None,
            },
            signed(
                "a truncated signature",
                &url,
                form_body(&params),
                good_sig[..good_sig.len() - 4].to_string(),
            ),
        ];
        let forged = forgeries.len();
        for f in forgeries {
            let headers: Vec<(&str, &str)> = f
                .signature
                .iter()
                .map(|s| ("x-twilio-signature", s.as_str()))
                .collect();
            let resp = post_raw(&app, &f.target, FORM, f.body, &headers).await;
            expect_forbidden(resp, &format!("{}, {ctx}", f.what)).await;
        }
        // Nothing but the refusals was recorded.
        assert!(calls_for(&app, &case.call_sid).await.is_empty(), "{ctx}");
        assert_eq!(all_calls(&app).await.len(), n, "{ctx}");
        let now = audit_len(&app).await;
        assert_eq!(
            now - events,
            forged as i64,
            "only the refusals are audited: {ctx}"
        );
        sig_fails += forged;
        assert_eq!(
            audit_events(&app, "authn_webhook_signature_fail")
                .await
                .len(),
            sig_fails,
            "{ctx}"
        );

        // The genuine request is accepted and recorded as received.
        let resp = post_raw(
            &app,
            &url,
            FORM,
            form_body(&params),
            &[("x-twilio-signature", &good_sig)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK, "{ctx}");
        expect_twiml(resp).await;
        let listed = calls_for(&app, &case.call_sid).await;
        assert_eq!(listed.len(), 1, "{ctx}");
        assert_eq!(listed[0]["from"], case.from.as_str(), "{ctx}");
        events = audit_len(&app).await;
        assert_eq!(events - now, 1, "one call_received event: {ctx}");
    }
    let refused = audit_events(&app, "authn_webhook_signature_fail").await;
    assert!(
        refused
            .iter()
            .all(|e| e["outcome"] == "failure" && e["call_id"].is_null())
    );
    assert!(
        refused.iter().all(|e| e["detail"]["path"] == VOICE),
        "{:?}",
        refused[0]
    );
    app.shutdown().await;
}
on_both_engines!(
    forgeries_are_refused_on_random_inputs,
    forgeries_are_refused_on_random_inputs
);

async fn forged_gather_status_and_message_status_change_nothing(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let sid = call_sid();
    let twiml = app.call(&sid, "+14155550123", None).await;
    assert!(twiml.contains("<Gather"), "{twiml}");
    let call_id = app.call_id_for(&sid).await;
    let before = without_delivery(call_view(&app, &call_id).await);
    let events = audit_len(&app).await;

    let gather = [("CallSid", sid.as_str()), ("Digits", "40012345")];
    let status = [("CallSid", sid.as_str()), ("CallStatus", "completed")];
    let message = [
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("MessageStatus", "delivered"),
    ];
    for (path, params) in [
        (GATHER, &gather[..]),
        (STATUS, &status[..]),
        (MESSAGE_STATUS, &message[..]),
    ] {
        let body = form_body(params);
        let resp = post_raw(&app, &app.url(path), FORM, body.clone(), &[]).await;
        expect_forbidden(resp, &format!("unsigned {path}")).await;
        let wrong = sign_form(&app.url(path), params, "not-the-auth-token");
        let resp = post_raw(
            &app,
            &app.url(path),
            FORM,
            body,
            &[("x-twilio-signature", &wrong)],
        )
        .await;
        expect_forbidden(resp, &format!("{path} signed with another token")).await;
    }
    assert_eq!(
        without_delivery(call_view(&app, &call_id).await),
        before,
        "forgeries changed the call"
    );
    assert_eq!(audit_len(&app).await - events, 6);
    app.shutdown().await;
}
on_both_engines!(
    forged_gather_status_and_message_status_change_nothing,
    forged_gather_status_and_message_status_change_nothing
);

// ---------------------------------------------------------------------------
// URL forms, shared keys, JSON bodies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_over_each_accepted_url_form_are_accepted_end_to_end() {
    // As configured (with its port) and with the port removed.
    let app = TestApp::spawn(Engine::Sqlite, "url forms, explicit port")
        .await
        .expect("sqlite");
    let configured = app.url(VOICE);
    let port = format!(":{}", app.base.rsplit(':').next().unwrap());
    let without_port = configured.replacen(&port, "", 1);
    assert_ne!(configured, without_port);
    for signed in [&configured, &without_port] {
        let sid = call_sid();
        let resp = post_signed_as(&app, VOICE, signed, &voice_params(&sid, "+14155550123")).await;
        expect_twiml(resp).await;
        assert_eq!(calls_for(&app, &sid).await.len(), 1, "signed over {signed}");
    }
    // The query string is signed exactly as requested.
    let sid = call_sid();
    let with_query = format!("{VOICE}?tenant=a%20b&x=1");
    let resp = post_signed_as(
        &app,
        &with_query,
        &app.url(&with_query),
        &voice_params(&sid, "+1415"),
    )
    .await;
    expect_twiml(resp).await;
    let resp = post_signed_as(
        &app,
        &with_query,
        &configured,
        &voice_params(&call_sid(), "+1415"),
    )
    .await;
    expect_forbidden(resp, "query not covered by the signature").await;
    app.shutdown().await;

    // A public URL without a port: the scheme's default port may be added.
    for (base, default_port, wrong_port) in [
        ("https://pingate.example", ":443", ":80"),
        ("http://pingate.example", ":80", ":443"),
    ] {
        let app = TestApp::spawn_with(
            Engine::Sqlite,
            "url forms, default port",
            Options {
                tweak: Box::new(move |s| s.server.public_base_url = base.to_string()),
                ..Options::default()
            },
        )
        .await
        .expect("sqlite");
        let accepted = [
            format!("{base}{VOICE}"),
            format!("{base}{default_port}{VOICE}"),
        ];
        for signed in &accepted {
            let sid = call_sid();
            let resp =
                post_signed_as(&app, VOICE, signed, &voice_params(&sid, "+14155550123")).await;
            let twiml = expect_twiml(resp).await;
            // The IVR sends the caller's digits back to the public URL.
            assert!(twiml.contains(&format!("{base}{GATHER}")), "{twiml}");
            assert_eq!(calls_for(&app, &sid).await.len(), 1, "signed over {signed}");
            // Gather, signed the same way, reaches the same call.
            let resp = post_signed_as(
                &app,
                GATHER,
                &signed.replace(VOICE, GATHER),
                &[("CallSid", &sid), ("Digits", "1")],
            )
            .await;
            expect_twiml(resp).await;
        }
        let refused = [
            format!("{base}{wrong_port}{VOICE}"),
            format!("{base}:8443{VOICE}"),
            app.url(VOICE),
            format!("{base}{VOICE}/"),
            format!("{}{VOICE}", base.replacen("pingate", "PINGATE", 1)),
        ];
        for signed in &refused {
            let sid = call_sid();
            let resp =
                post_signed_as(&app, VOICE, signed, &voice_params(&sid, "+14155550123")).await;
            expect_forbidden(resp, &format!("signed over {signed}")).await;
            assert!(calls_for(&app, &sid).await.is_empty());
        }
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmac_sha256_with_a_configured_shared_key_is_accepted() {
    const KEY_ID: &str = "key-2024";
    const SHARED: &str = "shared-webhook-key-0123456789abcdef";
    let app = TestApp::spawn_with(
        Engine::Sqlite,
        "hmac_sha256_shared_key",
        Options {
            tweak: Box::new(|s| {
                s.twilio
                    .webhook_keys
                    .insert(KEY_ID.to_string(), Secret::from(SHARED));
            }),
            ..Options::default()
        },
    )
    .await
    .expect("sqlite");
    let url = app.url(VOICE);
    let settings = format!("key={KEY_ID},algorithm=HMAC_SHA256");

    let sid = call_sid();
    let params = voice_params(&sid, "+14155550123");
    let sha256 = sign_form_sha256(&url, &params, SHARED);
    let resp = post_raw(
        &app,
        &url,
        FORM,
        form_body(&params),
        &[
            ("x-twilio-signature", &sha256),
            ("x-twilio-webhooks-signature-settings", &settings),
        ],
    )
    .await;
    expect_twiml(resp).await;
    assert_eq!(calls_for(&app, &sid).await.len(), 1);

    // Each of these must be refused.
    let sid = call_sid();
    let params = voice_params(&sid, "+14155550123");
    let body = form_body(&params);
    let sha256 = sign_form_sha256(&url, &params, SHARED);
    let sha1 = sign_form(&url, &params, AUTH_TOKEN);
    let sha256_with_token = sign_form_sha256(&url, &params, AUTH_TOKEN);
    let sha256_wrong_key = sign_form_sha256(&url, &params, "another-shared-key");
    let unknown_key = "key=nope,algorithm=HMAC_SHA256".to_string();
    let wrong_algorithm = format!("key={KEY_ID},algorithm=HMAC_SHA1");
    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "SHA-256 signature without the settings header",
            vec![("x-twilio-signature", &sha256)],
        ),
        (
            "auth-token SHA-1 signature with the settings header",
            vec![
                ("x-twilio-signature", &sha1),
                ("x-twilio-webhooks-signature-settings", &settings),
            ],
        ),
        (
            "SHA-256 keyed with the auth token",
            vec![
                ("x-twilio-signature", &sha256_with_token),
                ("x-twilio-webhooks-signature-settings", &settings),
            ],
        ),
        (
            "SHA-256 with a key that is not configured",
            vec![
                ("x-twilio-signature", &sha256_wrong_key),
                ("x-twilio-webhooks-signature-settings", &settings),
            ],
        ),
        (
            "a key id that is not configured",
            vec![
                ("x-twilio-signature", &sha256),
                ("x-twilio-webhooks-signature-settings", &unknown_key),
            ],
        ),
        (
            "an algorithm other than HMAC_SHA256",
            vec![
                ("x-twilio-signature", &sha256),
                ("x-twilio-webhooks-signature-settings", &wrong_algorithm),
            ],
        ),
    ];
    let n = attempts.len();
    for (what, headers) in attempts {
        let resp = post_raw(&app, &url, FORM, body.clone(), &headers).await;
        expect_forbidden(resp, what).await;
    }
    assert!(calls_for(&app, &sid).await.is_empty());
    assert_eq!(
        audit_events(&app, "authn_webhook_signature_fail")
            .await
            .len(),
        n
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_are_verified_by_body_sha256_and_refused_as_non_forms() {
    let app = TestApp::spawn(Engine::Sqlite, "json_bodies_body_sha256")
        .await
        .expect("sqlite");
    app.import_contoso().await;
    let sid = call_sid();
    let body = json!({ "CallSid": sid, "AccountSid": ACCOUNT_SID, "From": "+14155550123", "To": "+18005550100" })
        .to_string();

    for path in [VOICE, STATUS] {
        // Verifies (URL + bodySHA256), but a webhook must be a form: 400.
        let signed_url = with_body_sha256(&app.url(path), body.as_bytes());
        let signature = sign_json(&signed_url, AUTH_TOKEN);
        let resp = post_raw(
            &app,
            &signed_url,
            "application/json",
            body.clone(),
            &[("x-twilio-signature", &signature)],
        )
        .await;
        let problem = expect_problem(resp, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["type"], "urn:pingate:problem:bad-request", "{path}");

        // The same URL and signature with another body: the hash differs.
        let tampered = body.replace("+14155550123", "+14155550100");
        let resp = post_raw(
            &app,
            &signed_url,
            "application/json",
            tampered,
            &[("x-twilio-signature", &signature)],
        )
        .await;
        expect_forbidden(resp, "body does not match bodySHA256").await;

        // No bodySHA256 at all: the body is not covered by anything.
        let bare = app.url(path);
        let resp = post_raw(
            &app,
            &bare,
            "application/json",
            body.clone(),
            &[("x-twilio-signature", &sign_json(&bare, AUTH_TOKEN))],
        )
        .await;
        expect_forbidden(resp, "JSON body without bodySHA256").await;
    }
    assert_eq!(
        audit_events(&app, "authn_webhook_signature_fail")
            .await
            .len(),
        4
    );

    // A signed JSON body whose text happens to parse as a form is still
    // not a form: it must not be read as one.
    let sneaky = format!(
        "{{\"x\":\"&CallSid={sid}&AccountSid={ACCOUNT_SID}&From=%2B14155550123&To=%2B18005550100&y=\"}}"
    );
    let signed_url = with_body_sha256(&app.url(VOICE), sneaky.as_bytes());
    let resp = post_raw(
        &app,
        &signed_url,
        "application/json",
        sneaky.clone(),
        &[("x-twilio-signature", &sign_json(&signed_url, AUTH_TOKEN))],
    )
    .await;
    expect_problem(resp, StatusCode::BAD_REQUEST).await;
    assert!(
        calls_for(&app, &sid).await.is_empty(),
        "a JSON body was read as a form"
    );
    app.shutdown().await;
}

// ---------------------------------------------------------------------------
// Calls

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
        let (status, r) = app
            .post(
                &app.agent_token,
                &format!("/v1/calls/{call_id}/grant"),
                json!({}),
            )
            .await;
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
        let (status, r) = app
            .post(
                &app.agent_token,
                &format!("/v1/calls/{call_id}/grant"),
                json!({}),
            )
            .await;
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

// ---------------------------------------------------------------------------
// IVR

async fn gather(app: &TestApp, sid: &str, digits: &str) -> String {
    expect_twiml(
        app.webhook(GATHER, &[("CallSid", sid), ("Digits", digits)])
            .await,
    )
    .await
}

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

// ---------------------------------------------------------------------------
// Call status

async fn status(app: &TestApp, sid: &str, call_status: &str) {
    let resp = app
        .webhook(
            STATUS,
            &[
                ("CallSid", sid),
                ("AccountSid", ACCOUNT_SID),
                ("CallStatus", call_status),
            ],
        )
        .await;
    assert!(
        resp.status().is_success(),
        "{call_status}: {}",
        resp.status()
    );
}

async fn completed_call_ends_and_cancels_its_pending_challenge(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let sid = call_sid();
    app.call(&sid, "+14155550100", Some("TN-Validation-Passed-B"))
        .await;
    let call_id = app.call_id_for(&sid).await;
    let (st, ch) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({ "channel": "email" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{ch}");
    let challenge_id = ch["challenge_id"].as_str().unwrap().to_string();

    // Progress callbacks change nothing.
    let before = without_delivery(call_view(&app, &call_id).await);
    for progress in [
        "initiated",
        "ringing",
        "queued",
        "in-progress",
        "answered",
        "bogus",
    ] {
        status(&app, &sid, progress).await;
    }
    assert_eq!(without_delivery(call_view(&app, &call_id).await), before);
    assert!(audit_events(&app, "call_ended").await.is_empty());

    status(&app, &sid, "completed").await;
    let call = call_view(&app, &call_id).await;
    assert_eq!(call["status"], "ended", "{call}");
    assert!(call["ended_at"].is_string(), "{call}");
    assert_eq!(call["challenges"][0]["status"], "cancelled", "{call}");

    let resp = app
        .client
        .post(app.url(&format!("/v1/challenges/{challenge_id}/check")))
        .bearer_auth(&app.agent_token)
        .json(&json!({ "pin": "123456" }))
        .send()
        .await
        .unwrap();
    let body = expect_problem(resp, StatusCode::CONFLICT).await;
    assert_eq!(body["state"], "cancelled", "{body}");

    // Repeated and late callbacks change nothing.
    let ended = without_delivery(call_view(&app, &call_id).await);
    status(&app, &sid, "completed").await;
    status(&app, &sid, "in-progress").await;
    status(&app, &sid, "busy").await;
    assert_eq!(without_delivery(call_view(&app, &call_id).await), ended);
    assert_eq!(audit_events(&app, "call_ended").await.len(), 1);
    assert_eq!(audit_events(&app, "challenge_cancelled").await.len(), 1);

    // No new challenge on an ended call.
    let (st, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({ "channel": "email" }),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{r}");
    assert_eq!(r["state"], "ended", "{r}");

    // Every final status ends a call; a status for an unknown call records
    // nothing.
    for final_status in ["busy", "failed", "no-answer", "canceled"] {
        let sid = call_sid();
        app.call(&sid, "+14155550123", None).await;
        status(&app, &sid, final_status).await;
        let call = call_view(&app, &app.call_id_for(&sid).await).await;
        assert_eq!(call["status"], "ended", "{final_status}: {call}");
    }
    let unknown = call_sid();
    status(&app, &unknown, "completed").await;
    gather(&app, &unknown, "40012345").await;
    assert!(calls_for(&app, &unknown).await.is_empty());
    let (_, active) = app.get(&app.agent_token, "/v1/calls?status=active").await;
    assert_eq!(active["items"], json!([]), "{active}");
    app.shutdown().await;
}
on_both_engines!(
    completed_call_ends_and_cancels_its_pending_challenge,
    completed_call_ends_and_cancels_its_pending_challenge
);

// ---------------------------------------------------------------------------
// SMS delivery status

/// Polls the call until its first PIN message has `status` (the outbox
/// worker records the provider's answer just after the API received it).
async fn wait_for_delivery(app: &TestApp, call_id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let call = call_view(app, call_id).await;
        let delivery = &call["challenges"][0]["delivery"][0];
        if delivery["status"] == status {
            return delivery.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery never became {status}: {call}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn message_status_moves_delivery_forward_only(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let sid = call_sid();
    app.call(&sid, "+14155550100", None).await;
    let call_id = app.call_id_for(&sid).await;
    let (st, ch) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({ "channel": "sms" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{ch}");
    let sms = app.sms.wait_for(1, Duration::from_secs(20)).await;
    let message_sid = sms[0].sid.clone();
    let delivery = wait_for_delivery(&app, &call_id, "sent").await;
    assert_eq!(
        delivery["provider_message_id"],
        message_sid.as_str(),
        "{delivery}"
    );

    let report = |status: &'static str| {
        let message_sid = message_sid.clone();
        let app = &app;
        async move {
            let resp = app
                .webhook(
                    MESSAGE_STATUS,
                    &[
                        ("AccountSid", ACCOUNT_SID),
                        ("MessageSid", &message_sid),
                        ("SmsSid", &message_sid),
                        ("MessageStatus", status),
                        ("SmsStatus", status),
                        ("To", "+14155550199"),
                        ("From", "+15005550006"),
                    ],
                )
                .await;
            assert!(resp.status().is_success(), "{status}: {}", resp.status());
        }
    };
    // Earlier stages than what is recorded are ignored.
    report("queued").await;
    report("sending").await;
    assert_eq!(
        call_view(&app, &call_id).await["challenges"][0]["delivery"][0]["status"],
        "sent"
    );

    report("delivered").await;
    let call = call_view(&app, &call_id).await;
    assert_eq!(
        call["challenges"][0]["delivery"][0]["status"], "delivered",
        "{call}"
    );

    // A late "sent", a repeat, or a contradicting failure do not move it.
    report("sent").await;
    report("delivered").await;
    report("undelivered").await;
    let again = call_view(&app, &call_id).await;
    assert_eq!(
        again["challenges"][0]["delivery"][0]["status"], "delivered",
        "{again}"
    );
    let reported = audit_events(&app, "message_delivery_reported").await;
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(reported[0]["call_id"], call_id.as_str());

    // A report for a message pingate never sent changes nothing.
    let resp = app
        .webhook(
            MESSAGE_STATUS,
            &[
                ("MessageSid", "SM00000000000000000000000000000000"),
                ("MessageStatus", "failed"),
            ],
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(
        audit_events(&app, "message_delivery_reported").await.len(),
        1
    );
    app.shutdown().await;
}
on_both_engines!(
    message_status_moves_delivery_forward_only,
    message_status_moves_delivery_forward_only
);
