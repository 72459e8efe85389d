//! Forgeries on random inputs: every way to forge a signed voice webhook is
//! refused, and forged gather, status and message-status webhooks change
//! nothing.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reqwest::StatusCode;

use crate::errors::{audit_events, audit_len, without_delivery};
use crate::on_both_engines;
use crate::support::app::{ACCOUNT_SID, AUTH_TOKEN, Engine, Options, TestApp, call_sid};
use crate::support::twilio_signer::{form_body, sign_form};

use super::{
    FORM, GATHER, MESSAGE_STATUS, STATUS, VOICE, all_calls, call_view, calls_for, expect_forbidden,
    expect_twiml, post_raw,
};

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
