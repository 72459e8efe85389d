//! Signature variants accepted end to end: each URL form the provider may
//! have signed, HMAC-SHA256 with a configured shared key, and JSON bodies
//! verified by `bodySHA256`.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::json;
use sha2::Sha256;

use crate::errors::{audit_events, expect_problem};
use crate::support::app::{ACCOUNT_SID, AUTH_TOKEN, Engine, Options, TestApp, call_sid};
use crate::support::twilio_signer::{form_body, sign_form, sign_json, with_body_sha256};
use pingate::config::Secret;

use super::{
    FORM, GATHER, STATUS, VOICE, calls_for, expect_forbidden, expect_twiml, post_raw, voice_params,
};

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
