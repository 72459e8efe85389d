//! Someone with write access to the database changes the audit log behind
//! pingate's back (raw SQL on the test database): an edit, a deletion, a
//! move, a truncation, a rewritten history. `/v1/audit/verify` and
//! `pingate audit verify` must catch each and name the first bad seq, and
//! what only a checkpoint held from before can catch, it must.

use std::sync::atomic::Ordering;

use pingate::audit::event::Event;
use pingate::audit::merkle;
use pingate::store::audit::AuditFilter;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

use super::{append, cli, open, path_str, public_key, take_checkpoint, verify_api, write};
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, call_sid};

/// A log with only synchronous writers (no PIN messages whose delivery
/// events would land while the test tampers): an import, two calls, an
/// IVR answer and some org updates. It also waits for the background
/// checkpoint signer's first pass over the log (at start-up, but on
/// PostgreSQL it may wait for a connection first), which would otherwise
/// read the log while the test tampers with it and audit what it found.
async fn quiet_log(app: &TestApp) -> i64 {
    app.import_contoso().await;
    app.call(&call_sid(), "+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let sid = call_sid();
    app.call(&sid, "+14155550123", None).await;
    app.webhook(
        "/webhooks/twilio/gather",
        &[("CallSid", &sid), ("Digits", "40012345")],
    )
    .await;
    append(app, 10, "cli:root", app.state().clock.now_ms()).await;
    until_first_checkpointer_pass(app).await;
    let v = verify_api(app).await;
    assert_eq!(v["ok"], true, "{v}");
    v["events"].as_i64().unwrap()
}

async fn until_first_checkpointer_pass(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.state().checkpointer_passes.load(Ordering::Relaxed) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the background checkpoint signer never read the log"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn sql(app: &TestApp, query: &'static str, a: i64) {
    sqlx::query(query)
        .bind(a)
        .execute(app.state().store.reader())
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
}

/// Both verifiers say the log is broken at `seq` for a reason containing
/// `why`, and pingate refuses to sign it or prove anything over it.
async fn caught(app: &TestApp, seq: i64, why: &str) {
    let v = verify_api(app).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_bad_seq"], seq, "{v}");
    assert!(v["reason"].as_str().unwrap().contains(why), "{v}");
    let run = cli(app, &["audit", "verify"]).await;
    assert!(!run.ok, "the CLI exits non-zero: {}", run.stdout);
    assert!(
        run.stderr.contains(&format!("NOT intact: event {seq}: ")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(why), "{}", run.stderr);
    let (status, body) = app
        .post(&app.reviewer_token, "/v1/audit/checkpoints", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["type"], "urn:pingate:problem:audit-log-broken",
        "{body}"
    );
}

/// One stored row, every column as the database holds it.
struct Row12 {
    text: [Option<String>; 8],
    ints: [i64; 2],
    hashes: [Vec<u8>; 2],
}

async fn snapshot(app: &TestApp, seq: i64) -> Row12 {
    let row = sqlx::query(
        "SELECT seq, at, kind, actor, org_id, call_id, challenge_id, grant_id, outcome, detail, prev_hash, hash \
         FROM audit_events WHERE seq = $1",
    )
    .bind(seq)
    .fetch_one(app.state().store.reader())
    .await
    .expect("row");
    let text = |i: usize| row.try_get::<Option<String>, _>(i).expect("text");
    Row12 {
        ints: [row.get(0), row.get(1)],
        text: [
            text(2),
            text(3),
            text(4),
            text(5),
            text(6),
            text(7),
            text(8),
            text(9),
        ],
        hashes: [row.get(10), row.get(11)],
    }
}

async fn restore(app: &TestApp, r: &Row12) {
    let mut q = sqlx::query(
        "INSERT INTO audit_events (seq, at, kind, actor, org_id, call_id, challenge_id, grant_id, outcome, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(r.ints[0])
    .bind(r.ints[1]);
    for t in &r.text {
        q = q.bind(t.clone());
    }
    q.bind(r.hashes[0].clone())
        .bind(r.hashes[1].clone())
        .execute(app.state().store.reader())
        .await
        .expect("restore row");
}

async fn edits_deletions_and_moves_are_caught_and_named(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let n = quiet_log(&app).await;
    assert!(n > 12, "{n}");

    // Edited: the content no longer matches its hash.
    let original = snapshot(&app, 5).await;
    sql(
        &app,
        "UPDATE audit_events SET detail = '{\"forged\":true}' WHERE seq = $1",
        5,
    )
    .await;
    caught(&app, 5, "edited").await;
    let (status, body) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit/proof/inclusion?seq=1&size={n}"),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no proof over a broken log: {body}"
    );
    sql(&app, "DELETE FROM audit_events WHERE seq = $1", 5).await;
    restore(&app, &original).await;
    assert_eq!(verify_api(&app).await["ok"], true);

    // Deleted: a gap in seq.
    let original = snapshot(&app, 7).await;
    sql(&app, "DELETE FROM audit_events WHERE seq = $1", 7).await;
    caught(&app, 7, "missing").await;
    restore(&app, &original).await;
    assert_eq!(verify_api(&app).await["ok"], true);

    // Moved: two events trade places (their seq rewritten to match).
    let (mut a, mut b) = (snapshot(&app, 9).await, snapshot(&app, 12).await);
    sql(&app, "DELETE FROM audit_events WHERE seq = $1", 9).await;
    sql(&app, "DELETE FROM audit_events WHERE seq = $1", 12).await;
    (a.ints[0], b.ints[0]) = (12, 9);
    restore(&app, &b).await;
    restore(&app, &a).await;
    caught(&app, 9, "prev_hash does not link").await;
    app.shutdown().await;
}
on_both_engines!(
    edits_deletions_and_moves_are_caught_and_named,
    edits_deletions_and_moves_are_caught_and_named
);

async fn truncation_is_caught_against_a_checkpoint_held_from_before(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    quiet_log(&app).await;
    let key = public_key(&app).await;
    let held_text = take_checkpoint(&app).await;
    let held = open(&held_text, &key);
    let n = held.size as i64;
    let file = write(&app, "held.checkpoint", &held_text);
    let held_args = [
        "audit",
        "verify",
        "--checkpoint",
        path_str(&file),
        "--public-key",
        &key,
    ];

    // The last three events removed: the stored checkpoint now reaches
    // beyond the end of the log.
    sql(&app, "DELETE FROM audit_events WHERE seq > $1", n - 3).await;
    caught(&app, n - 2, "truncated").await;
    let (status, body) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit/proof/consistency?from=1&to={n}"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Covering their tracks, they delete the stored checkpoints too: the
    // database alone now looks intact ...
    sqlx::query("DELETE FROM audit_checkpoints")
        .execute(app.state().store.reader())
        .await
        .unwrap();
    assert_eq!(verify_api(&app).await["ok"], true);
    assert!(cli(&app, &["audit", "verify"]).await.ok);
    // ... but not against the checkpoint the reviewer kept.
    let run = cli(&app, &held_args).await;
    assert!(!run.ok, "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!("event {}: missing", n - 2)),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("your checkpoint covers {n} events")),
        "{}",
        run.stderr
    );

    // The log grows past the checkpoint again: now its root at that size
    // differs, and no consistency proof can bridge the two.
    append(&app, 5, "cli:root", app.state().clock.now_ms()).await;
    let run = cli(&app, &held_args).await;
    assert!(!run.ok, "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "event {n}: your checkpoint of size {n} does not match"
        )),
        "{}",
        run.stderr
    );
    let to = n + 2;
    let (status, p) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit/proof/consistency?from={n}&to={to}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_ne!(super::hash(&p["from_root"]), held.root);
    let proof = super::hashes(&p["proof"]);
    let to_root = super::hash(&p["to_root"]);
    assert!(
        merkle::verify_consistency(held.size, to as u64, &held.root, &to_root, &proof).is_err()
    );
    app.shutdown().await;
}
on_both_engines!(
    truncation_is_caught_against_a_checkpoint_held_from_before,
    truncation_is_caught_against_a_checkpoint_held_from_before
);

/// Every stored event after `seq`, in order.
async fn events_after(app: &TestApp, seq: i64) -> Vec<Event> {
    let filter = AuditFilter {
        after_seq: Some(seq),
        ..AuditFilter::default()
    };
    pingate::store::audit::list(app.state().store.reader(), &filter, 100_000)
        .await
        .expect("list the audit events")
}

/// Rewrites event `seq` and recomputes every hash after it, as someone who
/// knows the (public) chain rule would: the chain alone verifies again.
async fn rewrite_history(app: &TestApp, seq: i64) {
    let pool = app.state().store.reader();
    let events = events_after(app, seq - 1).await;
    let mut prev = None;
    for mut e in events {
        if e.seq == seq {
            e.actor = "agent:mallory".into();
        }
        if let Some(p) = prev {
            e.prev_hash = p;
        }
        e.hash = e.compute_hash();
        sqlx::query("UPDATE audit_events SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(&e.actor)
            .bind(e.prev_hash.to_vec())
            .bind(e.hash.to_vec())
            .bind(e.seq)
            .execute(pool)
            .await
            .expect("rewrite an event");
        prev = Some(e.hash);
    }
}

async fn a_forked_history_fails_consistency_with_the_checkpoint_held_before(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    quiet_log(&app).await;
    let key = public_key(&app).await;
    let held_text = take_checkpoint(&app).await;
    let held = open(&held_text, &key);
    let k = held.size as i64;

    // History rewritten from event 4 on, hashes and all: the chain
    // verifies, the stored checkpoint over it does not, and pingate will
    // not sign the rewrite.
    rewrite_history(&app, 4).await;
    caught(&app, k, "does not match").await;

    // With the stored checkpoints deleted, pingate still will not sign the
    // rewrite: it keeps the last checkpoint it signed beside its key,
    // outside the database (issue 8.13).
    sqlx::query("DELETE FROM audit_checkpoints")
        .execute(app.state().store.reader())
        .await
        .unwrap();
    append(&app, 4, "cli:root", app.state().clock.now_ms()).await;
    let (status, refused) = app
        .post(
            &app.reviewer_token,
            "/v1/audit/checkpoints",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    // Someone who can also delete that file gets the rewritten log signed
    // as it grows: two validly signed checkpoints, two histories.
    std::fs::remove_file(app.state().anchor.path()).expect("anchor file");
    let fork = open(&take_checkpoint(&app).await, &key);
    // The four appended events and the audited refusal, nothing else (a
    // failure here lists what was appended).
    let appended: Vec<(i64, String, String)> = events_after(&app, k)
        .await
        .into_iter()
        .map(|e| (e.seq, e.kind, e.actor))
        .collect();
    let kinds: Vec<&str> = appended.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "org_updated",
            "org_updated",
            "org_updated",
            "org_updated",
            "audit_checkpoint_refused"
        ],
        "events after the held checkpoint: {appended:?}"
    );
    assert_eq!(fork.size, held.size + 5, "{appended:?}");
    let v = verify_api(&app).await;
    assert_eq!(v["ok"], true, "the database alone cannot tell: {v}");

    let (status, p) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit/proof/consistency?from={k}&to={}", fork.size),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let proof = super::hashes(&p["proof"]);
    assert_eq!(super::hash(&p["to_root"]), fork.root);
    merkle::verify_consistency(
        held.size,
        fork.size,
        &super::hash(&p["from_root"]),
        &fork.root,
        &proof,
    )
    .expect("the fork is consistent with itself");
    assert_eq!(
        merkle::verify_consistency(held.size, fork.size, &held.root, &fork.root, &proof),
        Err(merkle::ProofError::OldRootMismatch),
        "but not with the checkpoint held from before"
    );

    let file = write(&app, "held.checkpoint", &held_text);
    let run = cli(
        &app,
        &[
            "audit",
            "verify",
            "--checkpoint",
            path_str(&file),
            "--public-key",
            &key,
        ],
    )
    .await;
    assert!(!run.ok, "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "event {k}: your checkpoint of size {k} does not match"
        )),
        "{}",
        run.stderr
    );
    // The rewrite itself is plain to see once the reviewer knows where.
    let (_, page) = app
        .get(&app.reviewer_token, "/v1/audit?actor=agent:mallory")
        .await;
    assert_eq!(page["items"][0]["seq"], 4, "{page}");
    app.shutdown().await;
}
on_both_engines!(
    a_forked_history_fails_consistency_with_the_checkpoint_held_before,
    a_forked_history_fails_consistency_with_the_checkpoint_held_before
);
