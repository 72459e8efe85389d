//! Call status (a completed call ends and cancels its pending challenge) and
//! SMS delivery status (it moves forward only).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::errors::{audit_events, expect_problem, without_delivery};
use crate::on_both_engines;
use crate::support::app::{ACCOUNT_SID, Engine, TestApp, call_sid};

use super::{MESSAGE_STATUS, STATUS, call_view, calls_for, gather};

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

/// A challenge whose TTL ran out before the hang-up stays what it already
/// was, expired (the challenge model: a terminal state is final), and its
/// sealed PIN is wiped with it.
async fn a_hang_up_after_the_ttl_records_the_challenge_expired(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let sid = call_sid();
    app.call(&sid, "+14155550100", None).await;
    let call_id = app.call_id_for(&sid).await;
    let challenge_id = app.challenge(&call_id, "email").await;
    let ttl = app.state().settings.pin.ttl.0;
    app.clock.advance(ttl + Duration::from_secs(1));

    status(&app, &sid, "completed").await;
    let call = call_view(&app, &call_id).await;
    assert_eq!(call["challenges"][0]["status"], "expired", "{call}");
    assert!(audit_events(&app, "challenge_cancelled").await.is_empty());
    assert_eq!(audit_events(&app, "challenge_expired").await.len(), 1);
    let sealed: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT pin_sealed FROM challenges WHERE id = $1")
            .bind(&challenge_id)
            .fetch_one(app.state().store.reader())
            .await
            .unwrap();
    assert_eq!(sealed, None, "the expired challenge's PIN is wiped");
    app.shutdown().await;
}
on_both_engines!(
    a_hang_up_after_the_ttl_records_the_challenge_expired,
    a_hang_up_after_the_ttl_records_the_challenge_expired
);

async fn completed_call_ends_and_cancels_its_pending_challenge(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let sid = call_sid();
    app.call(&sid, "+14155550100", Some("TN-Validation-Passed-B"))
        .await;
    let call_id = app.call_id_for(&sid).await;
    let challenge_id = app.challenge(&call_id, "email").await;

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
        .post_raw(
            &app.agent_token,
            &format!("/v1/challenges/{challenge_id}/check"),
            json!({ "pin": "123456" }),
        )
        .await;
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
    let call_id = app.new_call("+14155550100", None).await;
    app.challenge(&call_id, "sms").await;
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
