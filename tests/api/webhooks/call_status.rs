//! Call status: a completed call ends and cancels its pending challenge
//! (SMS delivery status is in `delivery::reports`).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::errors::{audit_events, expect_problem, without_delivery};
use crate::on_both_engines;
use crate::support::app::{ACCOUNT_SID, Engine, TestApp, call_sid};

use super::{STATUS, call_view, calls_for, gather};

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
