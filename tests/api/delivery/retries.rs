//! Transient and permanent failures: SMTP down and back, a Messages API
//! answering 500 and 429 before 201, permanent errors and exhausted retries.

use std::time::Duration;

use pingate::config::HumanDuration;
use serde_json::Value;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, extract_pin};
use crate::support::smtp::{ReservedPort, SmtpServer};

use super::{
    WAIT, check, contoso_call, deliveries, delivery_reaches, events_for, eventually, options,
};

async fn smtp_down_then_up_delivers_the_pin_once(engine: Engine, test: &str) {
    let relay = ReservedPort::new();
    let port = relay.port();
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
    let challenge_id = app.challenge(&call_id, "email").await;
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

    let smtp = SmtpServer::start_in(relay).expect("SMTP comes back on its port");
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
    let challenge_id = app.challenge(&call_id, "sms").await;

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

/// Waits until the first attempt failed and the message waits for another.
async fn throttled_once(app: &TestApp, call_id: &str, challenge_id: &str) {
    eventually("the throttled attempt is recorded", || async {
        let d = deliveries(app, call_id, challenge_id).await;
        match d.first() {
            Some(m) if m["status"] == "queued" && m["attempts"] == 1 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

/// A 429 with `Retry-After` is not tried again before the provider said,
/// however short the backoff (here at most 100 ms): the next attempt is
/// scheduled for then, and made once that time has come.
async fn retry_after_from_the_messages_api_is_honoured(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    app.sms.set_retry_after(120);
    app.sms.fail_next(1, 429, 20429);
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "sms").await;
    throttled_once(&app, &call_id, &challenge_id).await;
    let (next, at): (i64, i64) =
        sqlx::query_as("SELECT next_attempt_at, updated_at FROM messages WHERE challenge_id = $1")
            .bind(&challenge_id)
            .fetch_one(app.state().store.reader())
            .await
            .unwrap();
    assert!(next - at >= 120_000, "next attempt {} ms after", next - at);
    assert_eq!(app.sms.requests_seen(), 1);

    app.clock.advance(Duration::from_secs(121));
    app.state().wake_outbox();
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;
    assert_eq!(app.sms.requests_seen(), 2);
    app.shutdown().await;
}
on_both_engines!(
    retry_after_from_the_messages_api_is_honoured,
    retry_after_from_the_messages_api_is_honoured
);

/// A Retry-After that outlasts the PIN: when the attempt falls due the
/// challenge has expired, so nothing is sent and the message is cancelled.
async fn a_pin_is_not_sent_after_its_challenge_expired(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    app.sms.set_retry_after(3600);
    app.sms.fail_next(1, 429, 20429);
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "sms").await;
    throttled_once(&app, &call_id, &challenge_id).await;
    app.clock
        .advance(app.settings.pin.ttl.0 + Duration::from_secs(3600));
    app.state().wake_outbox();
    let cancelled = delivery_reaches(&app, &call_id, &challenge_id, 0, "cancelled").await;
    assert_eq!(
        cancelled["last_error"], "the challenge ended before it was sent",
        "{cancelled}"
    );
    assert_eq!(app.sms.requests_seen(), 1, "no send after expiry");
    app.shutdown().await;
}
on_both_engines!(
    a_pin_is_not_sent_after_its_challenge_expired,
    a_pin_is_not_sent_after_its_challenge_expired
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
    let ch = app.challenge(&call, "sms").await;
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
    let ch = app.challenge(&call, "email").await;
    let failed = delivery_reaches(&app, &call, &ch, 0, "failed").await;
    assert_eq!(failed["attempts"], 1, "{failed}");
    // Class and code only: the reply's text may quote the recipient.
    let error = failed["last_error"].as_str().unwrap();
    assert!(
        error.contains("permanent") && error.contains("550"),
        "{failed}"
    );
    assert!(!error.contains("mailbox unavailable"), "{failed}");
    assert_eq!(app.smtp.transactions_seen(), 1);
    assert!(app.smtp.messages().is_empty());

    // Transient errors until max_attempts: a dead letter with the reason.
    app.smtp.fail_next(3, 451, "4.3.0 try again later");
    let call = contoso_call(&app).await;
    let ch = app.challenge(&call, "email").await;
    let dead = delivery_reaches(&app, &call, &ch, 0, "dead").await;
    assert_eq!(dead["attempts"], 3, "{dead}");
    let error = dead["last_error"].as_str().unwrap();
    assert!(
        error.contains("transient") && error.contains("451"),
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
    let ch = app.challenge(&call, "sms").await;
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
