//! Reliable delivery, tried as an operator would break it: SMTP down and
//! back, a Messages API answering 500 and 429 before 201, permanent and
//! exhausted failures, fallback to the other registered channel, duplicate
//! and out-of-order status callbacks, resends, grant notices, two workers
//! racing on one PostgreSQL database, and the metrics.
//!
//! Waiting is on observable state only: the SMTP server and the Messages
//! API wake on arrival, and the delivery status is polled (bounded) through
//! the public API, because the worker commits its outcome after the send.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pingate::config::{HumanDuration, Settings};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, call_sid, extract_pin};
use crate::support::smtp::SmtpServer;

const WAIT: Duration = Duration::from_secs(20);

/// Retries within milliseconds, so a test sees several attempts quickly.
fn fast(s: &mut Settings) {
    s.delivery.backoff_base = HumanDuration(Duration::from_millis(20));
    s.delivery.backoff_cap = HumanDuration(Duration::from_millis(100));
    s.delivery.poll_interval = HumanDuration(Duration::from_millis(20));
}

fn options(tweak: impl FnOnce(&mut Settings) + Send + 'static) -> Options {
    Options {
        tweak: Box::new(move |s| {
            fast(s);
            tweak(s);
        }),
        ..Options::default()
    }
}

/// Polls `probe` until it yields a value, at most `WAIT`. The worker
/// records an outcome in its own transaction after the provider answered,
/// so a delivery status can only be observed, not awaited.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if tokio::time::Instant::now() >= deadline => {
                panic!("{what}: not reached within {WAIT:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// A call of contoso from an unregistered number (a fresh one per call,
/// so per-caller quotas never interfere), org attached by the agent.
async fn contoso_call(app: &TestApp) -> String {
    let sid = call_sid();
    let from = format!("+1415556{:04}", rand_digits());
    app.call(&sid, &from, None).await;
    let call_id = app.call_id_for(&sid).await;
    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/org"),
            json!({"org_id": "contoso"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    call_id
}

fn rand_digits() -> u16 {
    (uuid::Uuid::new_v4().as_u128() % 10_000) as u16
}

async fn challenge(app: &TestApp, call_id: &str, channel: &str) -> String {
    let (status, ch) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": channel}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    ch["challenge_id"].as_str().unwrap().to_string()
}

async fn check(app: &TestApp, challenge_id: &str, pin: &str) -> Value {
    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{challenge_id}/check"),
            json!({"pin": pin}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

/// The PIN deliveries of a challenge as the agent sees them on the call.
async fn deliveries(app: &TestApp, call_id: &str, challenge_id: &str) -> Vec<Value> {
    let (status, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    call["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["challenge_id"] == challenge_id)
        .map(|c| c["delivery"].as_array().unwrap().clone())
        .unwrap_or_default()
}

/// Waits until the challenge's `index`-th PIN message reaches `status`.
async fn delivery_reaches(
    app: &TestApp,
    call_id: &str,
    challenge_id: &str,
    index: usize,
    status: &str,
) -> Value {
    eventually(
        &format!("delivery {index} of {challenge_id} becomes {status}"),
        || async {
            let d = deliveries(app, call_id, challenge_id).await;
            match d.get(index) {
                Some(m) if m["status"] == status => Ok(m.clone()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

async fn events(app: &TestApp, kind: &str) -> Vec<Value> {
    let (status, v) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit?kind={kind}&limit=1000"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn events_for(app: &TestApp, kind: &str, challenge_id: &str) -> Vec<Value> {
    events(app, kind)
        .await
        .into_iter()
        .filter(|e| e["challenge_id"] == challenge_id)
        .collect()
}

/// A port nothing listens on (bound once by the OS, then released).
fn unused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

async fn smtp_down_then_up_delivers_the_pin_once(engine: Engine, test: &str) {
    let port = unused_port();
    let opts = options(move |s| {
        s.email.smtp_url = Some(pingate::config::Secret::from(
            format!("smtp://127.0.0.1:{port}").as_str(),
        ));
        // Keep retrying through the outage: 50 attempts, 250 ms apart on
        // average once the backoff reaches its cap, outlast it by far.
        s.delivery.max_attempts = 50;
        s.delivery.backoff_cap = HumanDuration(Duration::from_millis(500));
    });
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = contoso_call(&app).await;
    // Accepted although the mail relay is down: the PIN waits in the outbox.
    let challenge_id = challenge(&app, &call_id, "email").await;
    let queued = eventually("a failed attempt is recorded", || async {
        let d = deliveries(&app, &call_id, &challenge_id).await;
        match d.first() {
            Some(m) if m["status"] == "queued" && m["attempts"].as_i64() >= Some(1) => {
                Ok(m.clone())
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let error = queued["last_error"].as_str().expect("the reason is shown");
    assert!(error.starts_with("SMTP"), "{error}");
    assert!(
        !events_for(&app, "message_retry", &challenge_id)
            .await
            .is_empty()
    );

    let smtp = SmtpServer::start_on(port)
        .await
        .expect("SMTP comes back on its port");
    let mails = smtp.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, vec!["it-admin@contoso.example".to_string()]);
    let sent = delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    assert!(sent["attempts"].as_i64().unwrap() >= 2, "{sent}");
    assert_eq!(sent["last_error"], Value::Null, "{sent}");
    // Sent is final: nothing can claim the message again.
    assert_eq!(smtp.messages().len(), 1, "the PIN arrives exactly once");

    let pin = extract_pin(&mails[0].body_text(), app.settings.pin.length);
    assert_eq!(check(&app, &challenge_id, &pin).await["status"], "approved");
    app.shutdown().await;
    smtp.shutdown().await;
}
on_both_engines!(
    smtp_down_then_up_delivers_the_pin_once,
    smtp_down_then_up_delivers_the_pin_once
);

async fn messages_api_500_then_429_then_201_sends_the_sms_once(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    app.sms.fail_next(1, 500, 20500);
    app.sms.fail_next(1, 429, 20429);
    let call_id = contoso_call(&app).await;
    let challenge_id = challenge(&app, &call_id, "sms").await;

    let sms = app.sms.wait_for(1, WAIT).await;
    let sent = delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    assert_eq!(sent["attempts"], 3, "{sent}");
    assert_eq!(sent["provider_message_id"], sms[0].sid.as_str());
    assert_eq!(
        app.sms.messages().len(),
        1,
        "sent exactly once after acceptance"
    );
    assert_eq!(app.sms.requests_seen(), 3);

    let retries = events_for(&app, "message_retry", &challenge_id).await;
    assert_eq!(retries.len(), 2, "{retries:#?}");
    let reasons: Vec<&str> = retries
        .iter()
        .map(|e| e["detail"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons[0].contains("500") && reasons[0].contains("20500"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("429") && reasons[1].contains("20429"),
        "{reasons:?}"
    );
    assert_eq!(
        events_for(&app, "message_sent", &challenge_id).await.len(),
        1
    );

    let pin = extract_pin(&sms[0].body, app.settings.pin.length);
    assert_eq!(check(&app, &challenge_id, &pin).await["status"], "approved");
    app.shutdown().await;
}
on_both_engines!(
    messages_api_500_then_429_then_201_sends_the_sms_once,
    messages_api_500_then_429_then_201_sends_the_sms_once
);

async fn permanent_errors_fail_at_once_and_exhausted_retries_go_dead(engine: Engine, test: &str) {
    let opts = options(|s| s.delivery.max_attempts = 3);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;

    // Twilio 21614: not a mobile number. Retrying cannot help.
    app.sms.fail_next(1, 400, 21614);
    let call = contoso_call(&app).await;
    let ch = challenge(&app, &call, "sms").await;
    let failed = delivery_reaches(&app, &call, &ch, 0, "failed").await;
    assert_eq!(failed["attempts"], 1, "{failed}");
    assert!(
        failed["last_error"].as_str().unwrap().contains("21614"),
        "{failed}"
    );
    assert_eq!(
        app.sms.requests_seen(),
        1,
        "no retry after a permanent error"
    );
    assert!(events_for(&app, "message_retry", &ch).await.is_empty());
    let ev = events_for(&app, "message_failed", &ch).await;
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0]["detail"]["final"], "failed");

    // SMTP 550: the relay refuses the recipient for good.
    app.smtp.fail_next(1, 550, "5.1.1 mailbox unavailable");
    let call = contoso_call(&app).await;
    let ch = challenge(&app, &call, "email").await;
    let failed = delivery_reaches(&app, &call, &ch, 0, "failed").await;
    assert_eq!(failed["attempts"], 1, "{failed}");
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("mailbox unavailable"),
        "{failed}"
    );
    assert_eq!(app.smtp.transactions_seen(), 1);
    assert!(app.smtp.messages().is_empty());

    // Transient errors until max_attempts: a dead letter with the reason.
    app.smtp.fail_next(3, 451, "4.3.0 try again later");
    let call = contoso_call(&app).await;
    let ch = challenge(&app, &call, "email").await;
    let dead = delivery_reaches(&app, &call, &ch, 0, "dead").await;
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("try again later"),
        "{dead}"
    );
    assert_eq!(app.smtp.transactions_seen(), 4);
    assert!(app.smtp.messages().is_empty(), "nothing was accepted");
    assert_eq!(events_for(&app, "message_retry", &ch).await.len(), 2);
    let ev = events_for(&app, "message_failed", &ch).await;
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0]["detail"]["final"], "dead");

    // The same through the Messages API: 503 every time.
    app.sms.fail_next(3, 503, 20503);
    let call = contoso_call(&app).await;
    let ch = challenge(&app, &call, "sms").await;
    let dead = delivery_reaches(&app, &call, &ch, 0, "dead").await;
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert!(
        dead["last_error"].as_str().unwrap().contains("20503"),
        "{dead}"
    );
    assert_eq!(app.sms.requests_seen(), 4);
    assert!(app.sms.messages().is_empty());
    app.shutdown().await;
}
on_both_engines!(
    permanent_errors_fail_at_once_and_exhausted_retries_go_dead,
    permanent_errors_fail_at_once_and_exhausted_retries_go_dead
);

fn resent_events_with_fallback(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["detail"]["fallback"] == true)
        .collect()
}

async fn failed_sms_pin_falls_back_to_email_automatically(engine: Engine, test: &str) {
    let opts = options(|s| s.delivery.auto_fallback = true);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    app.sms.fail_next(1, 400, 21614);
    let call_id = contoso_call(&app).await;
    let challenge_id = challenge(&app, &call_id, "sms").await;

    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(
        mails[0].to,
        vec!["it-admin@contoso.example".to_string()],
        "only the profile's contact"
    );
    delivery_reaches(&app, &call_id, &challenge_id, 0, "failed").await;
    let email = delivery_reaches(&app, &call_id, &challenge_id, 1, "sent").await;
    assert_eq!(email["channel"], "email");
    assert_eq!(email["destination"], "i***@contoso.example");

    let resent = events_for(&app, "challenge_resent", &challenge_id).await;
    assert_eq!(resent.len(), 1, "one fallback: {resent:#?}");
    assert_eq!(resent_events_with_fallback(&resent).len(), 1, "{resent:#?}");
    assert_eq!(resent[0]["actor"], "system:fallback");
    assert_eq!(resent[0]["detail"]["channel"], "email");

    // The SMS never arrived; the email's code is the challenge's one PIN.
    let pin = extract_pin(&mails[0].body_text(), app.settings.pin.length);
    assert_eq!(check(&app, &challenge_id, &pin).await["status"], "approved");
    assert_eq!(
        deliveries(&app, &call_id, &challenge_id).await.len(),
        2,
        "no further fallback"
    );
    app.shutdown().await;
}
on_both_engines!(
    failed_sms_pin_falls_back_to_email_automatically,
    failed_sms_pin_falls_back_to_email_automatically
);

async fn agent_sees_the_failure_and_resends_the_same_pin_by_email(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    app.sms.fail_next(1, 400, 21614);
    let call_id = contoso_call(&app).await;
    let challenge_id = challenge(&app, &call_id, "sms").await;

    let failed = delivery_reaches(&app, &call_id, &challenge_id, 0, "failed").await;
    assert!(
        failed["last_error"].as_str().unwrap().contains("21614"),
        "{failed}"
    );
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
        .await;
    assert_eq!(ch["delivery"][0]["status"], "failed", "{ch}");
    assert_eq!(ch["status"], "pending", "{ch}");
    assert_eq!(
        deliveries(&app, &call_id, &challenge_id).await.len(),
        1,
        "no automatic fallback"
    );

    // No address can be given: the fallback goes to the profile's contact.
    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{challenge_id}/resend"),
            json!({"channel": "email", "to": "attacker@evil.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");

    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{challenge_id}/resend"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["it-admin@contoso.example".to_string()]);
    delivery_reaches(&app, &call_id, &challenge_id, 1, "sent").await;

    let resent = events_for(&app, "challenge_resent", &challenge_id).await;
    assert_eq!(resent.len(), 1, "{resent:#?}");
    assert_eq!(resent[0]["detail"]["fallback"], true);
    assert_eq!(resent[0]["actor"], "agent:alice");

    let pin = extract_pin(&mails[0].body_text(), app.settings.pin.length);
    assert_eq!(check(&app, &challenge_id, &pin).await["status"], "approved");
    app.shutdown().await;
}
on_both_engines!(
    agent_sees_the_failure_and_resends_the_same_pin_by_email,
    agent_sees_the_failure_and_resends_the_same_pin_by_email
);

/// An org whose profile has an SMS contact only.
const FABRIKAM_SMS_ONLY: &str = r#"
[[org]]
id = "fabrikam"
name = "Fabrikam"
account_number = "40099999"
registered_numbers = ["+14155550177"]
channels = ["sms"]
[org.contacts]
sms = "+14155550188"
"#;

async fn fallback_never_leaves_the_profile(engine: Engine, test: &str) {
    let opts = options(|s| s.delivery.auto_fallback = true);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_toml(FABRIKAM_SMS_ONLY).await;
    let sid = call_sid();
    app.call(&sid, "+14155550177", Some("TN-Validation-Passed-B"))
        .await;
    let call_id = app.call_id_for(&sid).await;
    let challenge_id = challenge(&app, &call_id, "sms").await;
    let sms = app.sms.wait_for(1, WAIT).await;
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;

    // Reported undelivered: there is no other channel to fall back on.
    // The fallback runs inside the webhook request, so after its 204 the
    // outbox holds whatever it queued.
    let resp = app
        .webhook(
            "/webhooks/twilio/message-status",
            &[
                ("MessageSid", &sms[0].sid),
                ("MessageStatus", "undelivered"),
                ("ErrorCode", "30003"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let d = deliveries(&app, &call_id, &challenge_id).await;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0]["status"], "undelivered");
    assert!(
        events_for(&app, "challenge_resent", &challenge_id)
            .await
            .is_empty()
    );

    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{challenge_id}/resend"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(deliveries(&app, &call_id, &challenge_id).await.len(), 1);
    assert!(app.smtp.messages().is_empty());
    app.shutdown().await;
}
on_both_engines!(
    fallback_never_leaves_the_profile,
    fallback_never_leaves_the_profile
);

async fn status(app: &TestApp, sid: &str, status: &str) {
    let resp = app
        .webhook(
            "/webhooks/twilio/message-status",
            &[("MessageSid", sid), ("MessageStatus", status)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT, "{status} for {sid}");
}

async fn status_callbacks_move_forward_only_and_undelivered_falls_back_once(
    engine: Engine,
    test: &str,
) {
    let opts = options(|s| s.delivery.auto_fallback = true);
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;

    let call_id = contoso_call(&app).await;
    let challenge_id = challenge(&app, &call_id, "sms").await;
    let sms = app.sms.wait_for(1, WAIT).await;
    let sid = sms[0].sid.clone();
    assert!(
        sms[0]
            .status_callback
            .as_deref()
            .unwrap()
            .ends_with("/webhooks/twilio/message-status")
    );
    let sent = delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    assert_eq!(sent["provider_message_id"], sid.as_str());

    status(&app, &sid, "delivered").await;
    status(&app, &sid, "delivered").await;
    // Late and out of order: Twilio does not promise callback order.
    status(&app, &sid, "sent").await;
    status(&app, &sid, "undelivered").await;
    let d = deliveries(&app, &call_id, &challenge_id).await;
    assert_eq!(d.len(), 1, "a delivered PIN has no fallback: {d:#?}");
    assert_eq!(d[0]["status"], "delivered");
    assert_eq!(d[0]["last_error"], Value::Null);
    assert_eq!(
        events_for(&app, "message_delivery_reported", &challenge_id)
            .await
            .len(),
        1
    );

    // Unknown MessageSid: answered, nothing changes.
    let before = events(&app, "message_delivery_reported").await.len();
    status(
        &app,
        &format!("SM{}", uuid::Uuid::new_v4().simple()),
        "undelivered",
    )
    .await;
    assert_eq!(
        events(&app, "message_delivery_reported").await.len(),
        before
    );
    assert_eq!(
        deliveries(&app, &call_id, &challenge_id).await[0]["status"],
        "delivered"
    );
    assert!(app.smtp.messages().is_empty());

    // Undelivered (twice): the same PIN follows by email, once.
    let call_id = contoso_call(&app).await;
    let challenge_id = challenge(&app, &call_id, "sms").await;
    let sms = app.sms.wait_for(2, WAIT).await;
    let sid = sms[1].sid.clone();
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    for _ in 0..2 {
        let resp = app
            .webhook(
                "/webhooks/twilio/message-status",
                &[
                    ("MessageSid", &sid),
                    ("MessageStatus", "undelivered"),
                    ("ErrorCode", "30003"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }
    let d = deliveries(&app, &call_id, &challenge_id).await;
    assert_eq!(d.len(), 2, "one fallback: {d:#?}");
    assert_eq!(d[0]["status"], "undelivered");
    assert!(
        d[0]["last_error"].as_str().unwrap().contains("30003"),
        "{d:#?}"
    );
    assert_eq!(d[1]["channel"], "email");
    delivery_reaches(&app, &call_id, &challenge_id, 1, "sent").await;
    let mails = app.smtp.messages();
    assert_eq!(mails.len(), 1);
    let len = app.settings.pin.length;
    assert_eq!(
        extract_pin(&mails[0].body_text(), len),
        extract_pin(&sms[1].body, len),
        "the fallback carries the same PIN"
    );
    let resent = events_for(&app, "challenge_resent", &challenge_id).await;
    assert_eq!(resent.len(), 1, "{resent:#?}");
    assert_eq!(resent[0]["detail"]["fallback"], true);
    app.shutdown().await;
}
on_both_engines!(
    status_callbacks_move_forward_only_and_undelivered_falls_back_once,
    status_callbacks_move_forward_only_and_undelivered_falls_back_once
);

async fn resend_carries_the_same_pin_until_max_sends(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = contoso_call(&app).await;
    let challenge_id = challenge(&app, &call_id, "email").await;
    let first = app.pin_from_email(1).await;

    let resend = |body: Value| {
        let url = app.url(&format!("/v1/challenges/{challenge_id}/resend"));
        let req = app
            .client
            .post(url)
            .bearer_auth(&app.agent_token)
            .json(&body);
        async move { req.send().await.expect("resend") }
    };
    assert_eq!(resend(json!({})).await.status(), StatusCode::OK);
    assert_eq!(
        app.pin_from_email(2).await,
        first,
        "the resent email carries the same PIN"
    );
    assert_eq!(
        resend(json!({"channel": "sms"})).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.pin_from_sms(1).await, first, "so does the SMS");
    assert_eq!(app.settings.pin.max_sends, 3);

    let refused = resend(json!({})).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert_eq!(
        deliveries(&app, &call_id, &challenge_id).await.len(),
        3,
        "nothing queued"
    );
    assert_eq!(
        check(&app, &challenge_id, &first).await["status"],
        "approved"
    );
    app.shutdown().await;
}
on_both_engines!(
    resend_carries_the_same_pin_until_max_sends,
    resend_carries_the_same_pin_until_max_sends
);

/// Waits for the call's grant notices to be sent; returns them.
async fn sent_notices(app: &TestApp, call_id: &str) -> Vec<Value> {
    eventually("grant notices sent", || async {
        let (_, call) = app
            .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
            .await;
        let notices = call["notices"].as_array().cloned().unwrap_or_default();
        if notices.len() == 2 && notices.iter().all(|n| n["status"] == "sent") {
            Ok(notices)
        } else {
            Err(format!("{notices:?}"))
        }
    })
    .await
}

async fn every_grant_notifies_the_registered_contacts_without_the_pin(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;

    // By PIN.
    let call_id = contoso_call(&app).await;
    let challenge_id = challenge(&app, &call_id, "email").await;
    let pin = app.pin_from_email(1).await;
    assert_eq!(check(&app, &challenge_id, &pin).await["status"], "approved");
    let notices = sent_notices(&app, &call_id).await;
    let mut channels: Vec<&str> = notices
        .iter()
        .map(|n| n["channel"].as_str().unwrap())
        .collect();
    channels.sort_unstable();
    assert_eq!(channels, ["email", "sms"]);
    let mail = &app.smtp.wait_for(2, WAIT).await[1];
    assert_eq!(mail.to, vec!["it-admin@contoso.example".to_string()]);
    let text = mail.body_text();
    for needle in ["alice", call_id.as_str(), "Contoso Ltd", "report"] {
        assert!(
            text.contains(needle),
            "{needle:?} missing from the notice:\n{text}"
        );
    }
    assert!(
        !text.contains(&pin),
        "a notice never carries the PIN:\n{text}"
    );
    let sms = &app.sms.wait_for(1, WAIT).await[0];
    assert_eq!(sms.to, "+14155550199");
    assert!(
        sms.body.contains("alice") && sms.body.contains(&call_id),
        "{}",
        sms.body
    );
    assert!(!sms.body.contains(&pin), "{}", sms.body);

    // By trusted number (attestation A from a registered number).
    let sid = call_sid();
    app.call(&sid, "+8613800138000", Some("TN-Validation-Passed-A"))
        .await;
    let call_id = app.call_id_for(&sid).await;
    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/grant"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    sent_notices(&app, &call_id).await;
    let mail = &app.smtp.wait_for(3, WAIT).await[2];
    let text = mail.body_text();
    assert!(text.contains("alice") && text.contains(&call_id), "{text}");
    assert!(
        text.contains("registered"),
        "says why access was granted:\n{text}"
    );
    let sms = &app.sms.wait_for(2, WAIT).await[1];
    assert!(
        sms.body.contains("alice") && sms.body.contains(&call_id),
        "{}",
        sms.body
    );
    assert_eq!(app.smtp.messages().len(), 3);
    assert_eq!(app.sms.messages().len(), 2);
    app.shutdown().await;
}
on_both_engines!(
    every_grant_notifies_the_registered_contacts_without_the_pin,
    every_grant_notifies_the_registered_contacts_without_the_pin
);

/// Several instances on one PostgreSQL database: the test app's own worker
/// and two more instances (each with its own state and connection pool),
/// two claim loops each, released together behind a barrier onto 40
/// messages queued in one transaction. Each message must reach SMTP once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_postgres_never_send_one_message_twice() {
    const N: usize = 40;
    const LOOPS_PER_INSTANCE: usize = 2;
    let test = "two_workers_on_postgres_never_send_one_message_twice";
    let opts = options(|s| s.delivery.poll_interval = HumanDuration(Duration::from_millis(10)));
    let Some(app) = TestApp::spawn_with(Engine::Postgres, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let clock: Arc<dyn pingate::clock::Clock> = Arc::new(app.clock.clone());

    let mut instances = Vec::new();
    for _ in 0..2 {
        let state = pingate::app::AppState::build(app.settings.clone(), Arc::clone(&clock), None)
            .await
            .expect("a second instance on the same database");
        instances.push(state);
    }
    let barrier = Arc::new(Barrier::new(instances.len() * LOOPS_PER_INSTANCE + 1));
    let mut tasks = Vec::new();
    for state in &instances {
        for _ in 0..LOOPS_PER_INSTANCE {
            let w = worker_with(state, Arc::clone(&state.senders), 60_000);
            let barrier = Arc::clone(&barrier);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let mut claimed = 0;
                loop {
                    match w.run_once().await.expect("outbox pass") {
                        0 => return claimed,
                        n => claimed += n,
                    }
                }
            }));
        }
    }

    let state = app.state();
    let mut subjects = enqueue_plain(state, "outbox race", N).await;
    barrier.wait().await;
    state.wake_outbox();
    let mut by_extra_instances = 0;
    for t in tasks {
        by_extra_instances += t.await.expect("claim loop");
    }

    app.smtp.wait_for(N, WAIT).await;
    let pending = eventually("every message is finished", || async {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT id, status, attempts FROM messages WHERE kind = 'test'")
                .fetch_all(state.store.reader())
                .await
                .map_err(|e| e.to_string())?;
        if rows.len() == N && rows.iter().all(|(_, s, _)| s == "sent") {
            Ok(rows)
        } else {
            Err(format!("{rows:?}"))
        }
    })
    .await;
    assert!(
        pending.iter().all(|(_, _, a)| *a == 1),
        "each message was claimed once: {pending:?}"
    );
    let mails = app.smtp.messages();
    let mut got: Vec<String> = mails.iter().map(|m| m.header("Subject").unwrap()).collect();
    got.sort();
    subjects.sort();
    assert_eq!(got, subjects, "each message exactly once");
    // Each mail's Message-ID names its outbox row: every row reached SMTP.
    let mut ids: Vec<String> = mails
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    ids.sort();
    let mut expected: Vec<String> = pending
        .iter()
        .map(|(id, _, _)| format!("<{id}@pingate.test>"))
        .collect();
    expected.sort();
    assert_eq!(ids, expected);
    eprintln!("{test}: the two extra instances claimed {by_extra_instances} of {N}");

    for s in instances {
        s.store.close().await;
    }
    app.shutdown().await;
}

/// Queues `n` plain messages to contoso's email contact in one
/// transaction, without waking any worker; returns their subjects.
async fn enqueue_plain(state: &pingate::app::AppState, tag: &str, n: usize) -> Vec<String> {
    let mut tx = state.store.begin(state.clock.now_ms()).await.unwrap();
    let mut subjects = Vec::new();
    for i in 0..n {
        let subject = format!("{tag} {i:02}");
        pingate::delivery::enqueue(
            &mut tx,
            &state.sealer,
            pingate::delivery::Outgoing {
                kind: "test",
                channel: pingate::domain::org::Channel::Email,
                org_id: "contoso",
                call_id: None,
                challenge_id: None,
                grant_id: None,
                destination: "it-admin@contoso.example",
                destination_masked: "i***@contoso.example",
                subject: &subject,
                body: tag,
            },
        )
        .await
        .unwrap();
        subjects.push(subject);
    }
    tx.commit().await.unwrap();
    subjects
}

/// A worker of this process's app state, with its own senders and lease.
fn worker_with(
    state: &pingate::app::AppState,
    senders: Arc<pingate::delivery::Senders>,
    lease_ms: i64,
) -> pingate::delivery::worker::Worker {
    pingate::delivery::worker::Worker {
        store: state.store.clone(),
        clock: Arc::clone(&state.clock),
        sealer: state.sealer.clone(),
        senders,
        wake: Arc::new(tokio::sync::Notify::new()),
        backoff_base_ms: 20,
        backoff_cap_ms: 100,
        max_attempts: 8,
        lease_ms,
        poll: Duration::from_millis(10),
        on_pin_failed: None,
    }
}

/// A TCP front for `upstream` that holds its first connection until
/// released and then drops it (a relay that hangs, then resets), and
/// passes every later connection through.
async fn hanging_first_connection(
    upstream: u16,
) -> (
    u16,
    tokio::sync::oneshot::Receiver<()>,
    Arc<tokio::sync::Notify>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, accepted_rx) = tokio::sync::oneshot::channel();
    let release = Arc::new(tokio::sync::Notify::new());
    let held = Arc::clone(&release);
    tokio::spawn(async move {
        let (first, _) = listener.accept().await.unwrap();
        let _ = accepted.send(());
        tokio::spawn(async move {
            held.notified().await;
            drop(first);
        });
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) =
                    tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (port, accepted_rx, release)
}

/// A worker claims a batch under one lease and sends it one message after
/// another. When a slow send outlasts the lease, another instance claims
/// the rest and sends it; the first worker must then neither send those
/// messages again nor record an outcome for messages it no longer holds.
async fn a_worker_that_lost_its_lease_sends_nothing_more(engine: Engine, test: &str) {
    // The app's own worker stays idle: only the two workers below run.
    let opts = options(|s| s.delivery.poll_interval = HumanDuration(Duration::from_secs(3600)));
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let state = app.state();

    let (port, accepted, release) = hanging_first_connection(app.smtp.port()).await;
    let mut slow = app.settings.clone();
    slow.email.smtp_url = Some(pingate::config::Secret::from(
        format!("smtp://127.0.0.1:{port}").as_str(),
    ));
    let slow_senders = pingate::delivery::Senders {
        email: pingate::delivery::email::EmailSender::from_settings(
            &slow.email,
            &slow.email_file_dir(),
        )
        .unwrap(),
        sms: pingate::delivery::sms::SmsSender::from_settings(&slow).unwrap(),
    };
    let first = worker_with(state, Arc::new(slow_senders), 1_000);
    let second = worker_with(state, Arc::clone(&state.senders), 60_000);

    let subjects = enqueue_plain(state, "lease", 2).await;
    let first = tokio::spawn(async move { first.run_once().await.expect("first worker") });
    tokio::time::timeout(WAIT, accepted)
        .await
        .expect("the first send starts")
        .unwrap();
    // The first worker holds both messages and hangs on the first send;
    // its lease runs out and the second worker takes both.
    app.clock.advance(Duration::from_secs(5));
    assert_eq!(second.run_once().await.unwrap(), 2);
    assert_eq!(app.smtp.wait_for(2, WAIT).await.len(), 2);
    release.notify_one();
    assert_eq!(first.await.unwrap(), 2);

    let mut got: Vec<String> = app
        .smtp
        .messages()
        .iter()
        .map(|m| m.header("Subject").unwrap())
        .collect();
    got.sort();
    assert_eq!(got, subjects, "each message once");
    let rows: Vec<(String, i64, Option<String>)> =
        sqlx::query_as("SELECT status, attempts, last_error FROM messages WHERE kind = 'test'")
            .fetch_all(state.store.reader())
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    for (status, attempts, error) in &rows {
        assert_eq!(
            (status.as_str(), *attempts, error.as_deref()),
            ("sent", 2, None),
            "{rows:?}"
        );
    }
    assert!(
        events(&app, "message_retry").await.is_empty(),
        "no outcome from a lost lease"
    );
    assert_eq!(events(&app, "message_sent").await.len(), 2);
    app.shutdown().await;
}
on_both_engines!(
    a_worker_that_lost_its_lease_sends_nothing_more,
    a_worker_that_lost_its_lease_sends_nothing_more
);

async fn metrics_count_messages_by_channel_and_outcome(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    app.smtp.fail_next(1, 451, "4.3.0 try again later");
    let call_id = contoso_call(&app).await;
    let challenge_id = challenge(&app, &call_id, "email").await;
    app.smtp.wait_for(1, WAIT).await;
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;

    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    for needle in [
        r#"pingate_messages_total{channel="email",outcome="sent"}"#,
        r#"pingate_messages_total{channel="email",outcome="retry"}"#,
        "pingate_outbox_queued ",
        "pingate_outbox_oldest_age_seconds ",
        "pingate_message_attempts",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from /metrics:\n{text}"
        );
    }
    // A gauge is process-wide and other tests' servers set it too: only
    // its form is checked here.
    let queued = text
        .lines()
        .find_map(|l| l.strip_prefix("pingate_outbox_queued "))
        .unwrap();
    assert!(queued.trim().parse::<f64>().is_ok(), "{queued}");
    app.shutdown().await;
}
on_both_engines!(
    metrics_count_messages_by_channel_and_outcome,
    metrics_count_messages_by_channel_and_outcome
);
