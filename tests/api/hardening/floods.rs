//! The flood shields as an attacker meets them: random bearer tokens from
//! one address, unsigned junk on the webhooks while Twilio's real webhooks
//! come in, addresses behind a trusted proxy and IPv6 neighbours.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use pingate::config::LimitsSettings;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::app::{ACCOUNT_SID, AUTH_TOKEN, Engine, Options, TestApp, call_sid};
use crate::support::twilio_signer::{form_body, sign_form};

const VOICE: &str = "/webhooks/twilio/voice";

/// Production limits instead of the test server's generous ones.
fn production_limits() -> Options {
    Options {
        tweak: Box::new(|s| s.limits = LimitsSettings::default()),
        ..Options::default()
    }
}

/// Polls the audit trail (bounded) until `done` holds for the events of
/// `kind`: folded summaries are written by a task when a window closes.
async fn events_until(app: &TestApp, kind: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let events = app.events(kind).await;
        if done(&events) || tokio::time::Instant::now() >= deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn random_token() -> String {
    format!("pga_{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_tokens_from_one_address_are_mostly_refused_and_leave_a_handful_of_events() {
    let test = "random_tokens_from_one_address";
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, test, production_limits()).await else {
        return;
    };
    // The attacker has an address of its own (the test reads the audit
    // trail from 127.0.0.1): a spent budget refuses its address only.
    let attacker = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    let long_path = format!("/v1/calls/{}", "x".repeat(2000));
    let (mut unauthorized, mut refused) = (0usize, 0usize);
    for _ in 0..300 {
        let status = attacker
            .get(app.url(&long_path))
            .bearer_auth(random_token())
            .send()
            .await
            .expect("request")
            .status();
        match status {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        refused >= 250,
        "{refused} refused, {unauthorized} looked up"
    );

    // The first failure is audited at once; the rest of the window is one
    // event with a count once the window has closed.
    let open = app.events("authn_token_fail").await;
    assert_eq!(open.len(), 1, "{open:#?}");
    app.clock.advance(Duration::from_secs(61));
    let events = events_until(&app, "authn_token_fail", |e| e.len() >= 2).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let counted: u64 = events
        .iter()
        .map(|e| e["detail"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, unauthorized, "{events:#?}");
    assert_eq!(
        events[1]["detail"]["refused"].as_u64(),
        Some(refused as u64),
        "{events:#?}"
    );
    for e in &events {
        assert_eq!(e["detail"]["path"], "/v1/calls/{call_id}", "{e}");
        assert_eq!(e["detail"]["source"], "127.0.0.2", "{e}");
        assert!(e.to_string().len() < 1024, "{e}");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variants_of_one_token_share_its_principals_budget() {
    let opts = Options {
        tweak: Box::new(|s| {
            s.limits.api_per_second = 1;
            s.limits.api_burst = 3;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, "token_variants", opts).await else {
        return;
    };
    let token = app.agent_token.clone();
    let mut ok = 0;
    for i in 0..12 {
        let header = match i % 3 {
            0 => format!("Bearer {token}"),
            1 => format!("bearer   {token}  "),
            _ => format!("BEARER {token}"),
        };
        let status = app
            .client
            .get(app.url("/v1/calls"))
            .header("authorization", header)
            .send()
            .await
            .expect("request")
            .status();
        if status == StatusCode::OK {
            ok += 1;
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        }
    }
    assert!(ok <= 4, "{ok} of 12 spellings got through a burst of 3");
    app.shutdown().await;
}

fn voice_params(sid: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CallSid", sid.to_owned()),
        ("AccountSid", ACCOUNT_SID.to_owned()),
        ("From", "+14155550123".to_owned()),
        ("To", "+18005550100".to_owned()),
        ("CallStatus", "ringing".to_owned()),
    ]
}

/// A voice webhook, signed or not, claiming to come through `forwarded`.
async fn voice(app: &TestApp, signed: bool, forwarded: Option<&str>) -> StatusCode {
    let url = app.url(VOICE);
    let sid = call_sid();
    let owned = voice_params(&sid);
    let params: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut req = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&params));
    req = if signed {
        req.header("x-twilio-signature", sign_form(&url, &params, AUTH_TOKEN))
    } else {
        req.header("x-twilio-signature", "bm90IGEgc2lnbmF0dXJl")
    };
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.expect("webhook").status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_webhook_is_answered_while_unsigned_junk_floods_the_same_address() {
    let test = "signed_webhook_under_junk";
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, test, production_limits()).await else {
        return;
    };
    // Junk from four connections until the address's shield refuses it,
    // and on while Twilio's signed webhooks come in.
    let url = app.url(VOICE);
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let flood: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (app.client.clone(), url.clone());
            let (stop, refused) = (Arc::clone(&stop), Arc::clone(&refused));
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let status = client
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("x-twilio-signature", "bm90IGEgc2lnbmF0dXJl")
                        .body("CallSid=CAjunk&From=%2B15550000000")
                        .send()
                        .await
                        .expect("junk")
                        .status();
                    assert!(
                        status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS,
                        "{status}"
                    );
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while refused.load(Ordering::SeqCst) < 50 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the junk was never limited"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..5 {
        assert_eq!(voice(&app, true, None).await, StatusCode::OK);
    }
    let during = refused.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    for task in flood {
        task.await.expect("flood task");
    }
    assert!(
        refused.load(Ordering::SeqCst) >= during,
        "the flood went on being refused"
    );
    let audited = app.events("authn_webhook_signature_fail").await;
    assert!(audited.len() <= 2, "{} events", audited.len());
    assert_eq!(audited[0]["detail"]["path"], VOICE);
    app.shutdown().await;
}

/// Behind a trusted proxy every caller arrives from the proxy's address;
/// the shield counts the client the proxy names (IPv6 by /64), and a
/// client's own `X-Forwarded-For` entries are not believed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_junk_from_one_client_does_not_limit_another() {
    let opts = Options {
        tweak: Box::new(|s| {
            s.limits = LimitsSettings::default();
            s.limits.webhook_per_second = 1;
            s.limits.webhook_burst = 5;
            s.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, "trusted_proxy", opts).await else {
        return;
    };
    let attacker = "2001:db8:1:2::1";
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(voice(&app, false, Some(attacker)).await);
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Same /64, another interface id: the same bucket.
    let neighbour = voice(&app, false, Some("2001:db8:1:2:ffff::9")).await;
    assert_eq!(neighbour, StatusCode::TOO_MANY_REQUESTS);
    // A forged left-most hop does not move the attacker to a fresh bucket.
    let forged = voice(&app, false, Some(&format!("198.51.100.77, {attacker}"))).await;
    assert_eq!(forged, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not limited by it.
    assert_eq!(
        voice(&app, false, Some("2001:db8:1:3::1")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        voice(&app, false, Some("203.0.113.5")).await,
        StatusCode::FORBIDDEN
    );
    let sources: Vec<Value> = app
        .events("authn_webhook_signature_fail")
        .await
        .iter()
        .map(|e| e["detail"]["source"].clone())
        .collect();
    assert!(
        sources.contains(&Value::from("2001:db8:1:2::/64")),
        "{sources:?}"
    );
    assert!(sources.contains(&Value::from("203.0.113.5")), "{sources:?}");
    app.shutdown().await;
}
