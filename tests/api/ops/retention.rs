//! The retention purge after a simulated 100 days: exactly what the
//! policy says goes, the audit trail and its proofs stay.

use std::collections::BTreeSet;
use std::time::Duration;

use pingate::service::retention;
use pingate::store::retention::Purgeable;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::audit::{cli, open, public_key, take_checkpoint, verified_call, verify_api, write};
use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, call_sid};

const DAY: Duration = Duration::from_secs(86_400);

async fn hang_up(app: &TestApp, sid: &str) {
    let resp = app
        .webhook(
            "/webhooks/twilio/status",
            &[
                ("CallSid", sid),
                ("CallStatus", "completed"),
                ("SequenceNumber", "9"),
            ],
        )
        .await;
    assert!(
        resp.status().is_success(),
        "status webhook: {}",
        resp.status()
    );
}

/// A trusted caller granted access, then hung up. Returns (call id, grant id).
async fn trusted_call_ended(app: &TestApp) -> (String, String) {
    let sid = call_sid();
    app.call(&sid, "+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let call_id = app.call_id_for(&sid).await;
    let (status, g) = app.grant(&call_id).await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    hang_up(app, &sid).await;
    let grant_id = g["grant"]["grant_id"].as_str().expect("grant id");
    (call_id, grant_id.to_string())
}

async fn ids(app: &TestApp, sql: &str) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(app.state().store.reader())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .collect()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(app.state().store.reader())
        .await
        .expect("count")
}

/// Waits (bounded) until the worker has settled every message but `except`.
async fn settled(app: &TestApp, except: &str) {
    for _ in 0..400 {
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE status IN ('queued', 'sending') AND id <> $1",
        )
        .bind(except)
        .fetch_one(app.state().store.reader())
        .await
        .expect("count");
        if busy == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("messages still queued after 20 s");
}

/// A message the worker will not reach for months: still pending.
async fn queued_message(app: &TestApp, call_id: &str, at: i64) -> String {
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(
        "INSERT INTO messages (id, kind, channel, org_id, call_id, destination, destination_masked, \
         subject, status, attempts, next_attempt_at, created_at, updated_at) \
         VALUES ($1, 'grant_notice', 'email', 'contoso', $2, 'it-admin@contoso.example', 'i***@contoso.example', \
         'notice', 'queued', 0, $3, $4, $4)",
    )
    .bind(&id)
    .bind(call_id)
    .bind(at + 400 * 86_400_000)
    .bind(at)
    .execute(app.state().store.reader())
    .await
    .expect("insert a queued message");
    id
}

/// Rows of `table` that are older than `cutoff` by `column`.
async fn older(
    app: &TestApp,
    table: &str,
    key: &str,
    column: &str,
    cutoff: i64,
) -> BTreeSet<String> {
    ids(
        app,
        &format!("SELECT {key} FROM {table} WHERE {column} < {cutoff}"),
    )
    .await
}

async fn a_purge_after_100_days_removes_exactly_what_the_policy_says(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| {
            s.retention.batch_size = 3;
            s.retention.batch_pause = pingate::config::HumanDuration(Duration::ZERO);
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let day0 = app.state().clock.now_ms();

    // Day 0: a verified call and four trusted ones, all ended; a call still
    // in progress; an ended call whose grant is still in force; a message
    // still queued.
    let (pin_call, _) = verified_call(&app).await;
    let (_, body) = app
        .get(&app.agent_token, &format!("/v1/calls/{pin_call}"))
        .await;
    hang_up(&app, body["provider_call_id"].as_str().expect("sid")).await;
    for _ in 0..4 {
        trusted_call_ended(&app).await;
    }
    let active_call = app.new_call("+14155550999", None).await;
    let (granted_call, live_grant) = trusted_call_ended(&app).await;
    sqlx::query("UPDATE grants SET expires_at = $1 WHERE id = $2")
        .bind(day0 + 200 * 86_400_000)
        .bind(&live_grant)
        .execute(app.state().store.reader())
        .await
        .expect("a long grant");
    settled(&app, "").await;
    let pending = queued_message(&app, &granted_call, day0).await;
    let held = take_checkpoint(&app).await;

    // Day 100: a call that ended today and one in progress.
    app.clock.advance(100 * DAY);
    let (recent_call, recent_grant) = trusted_call_ended(&app).await;
    let recent_active = app.new_call("+14155550998", None).await;
    settled(&app, &pending).await;

    let cut = day0 + 50 * 86_400_000;
    let old_calls = older(&app, "calls", "id", "created_at", cut).await;
    let keep_calls: BTreeSet<String> = [active_call.clone(), granted_call.clone()].into();
    let expected = [
        (Purgeable::Calls, &old_calls - &keep_calls),
        (
            Purgeable::Challenges,
            older(&app, "challenges", "id", "created_at", cut).await,
        ),
        (
            Purgeable::Grants,
            &older(&app, "grants", "id", "created_at", cut).await - &[live_grant.clone()].into(),
        ),
        (
            Purgeable::Messages,
            &older(&app, "messages", "id", "created_at", cut).await - &[pending.clone()].into(),
        ),
        (
            Purgeable::WebhookReceipts,
            older(&app, "webhook_receipts", "key", "received_at", cut).await,
        ),
        (
            Purgeable::QuotaCounters,
            older(
                &app,
                "quota_counters",
                "scope || '/' || key || '/' || CAST(window_start AS TEXT)",
                "window_start",
                cut,
            )
            .await,
        ),
    ];
    assert_eq!(expected[0].1.len(), 5, "five ended calls are old enough");
    assert!(expected.iter().all(|(_, s)| !s.is_empty()), "{expected:?}");
    let before: Vec<i64> = {
        let mut v = Vec::new();
        for p in Purgeable::ALL {
            v.push(count(&app, p.table()).await);
        }
        v
    };

    let dry = retention::run(app.state(), "test:retention", true)
        .await
        .expect("dry run");
    let mut after_dry = Vec::new();
    for p in Purgeable::ALL {
        after_dry.push(count(&app, p.table()).await);
    }
    assert_eq!(after_dry, before, "a dry run changes nothing");
    for (what, set) in &expected {
        assert_eq!(
            dry.count(*what),
            set.len() as u64,
            "dry run, {}",
            what.table()
        );
    }
    assert!(
        app.events("retention_run").await.is_empty(),
        "a dry run is not recorded"
    );

    let report = retention::run(app.state(), "test:retention", false)
        .await
        .expect("run");
    for (what, set) in &expected {
        assert_eq!(report.count(*what), set.len() as u64, "{}", what.table());
    }
    assert_eq!(
        report.total(),
        dry.total(),
        "the run did what the dry run said"
    );
    let batches: u64 = report.counts.iter().map(|(_, n)| n.div_ceil(3)).sum();
    assert_eq!(report.batches, batches, "in batches of at most 3 rows");

    let calls_left = ids(&app, "SELECT id FROM calls").await;
    let kept: BTreeSet<String> = [active_call, granted_call, recent_call, recent_active].into();
    assert_eq!(
        calls_left, kept,
        "exactly the active, the granted and today's calls remain"
    );
    let grants_left = ids(&app, "SELECT id FROM grants").await;
    assert_eq!(grants_left, [live_grant, recent_grant].into());
    assert!(
        ids(&app, "SELECT id FROM messages")
            .await
            .contains(&pending),
        "the queued message stays"
    );
    let (status, _) = app
        .get(&app.agent_token, &format!("/v1/calls/{pin_call}"))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the purged call is gone from the API"
    );

    let recorded = app.events("retention_run").await;
    assert_eq!(recorded.len(), 1, "one event per run: {recorded:?}");
    for (what, set) in &expected {
        assert_eq!(
            recorded[0]["detail"]["deleted"][what.table()],
            json!(set.len())
        );
    }
    assert_eq!(recorded[0]["detail"]["total"], json!(report.total()));

    // The trail still verifies, still extends the checkpoint held before
    // the purge, and still proves the purged call's events.
    assert_eq!(verify_api(&app).await["ok"], json!(true));
    let held_file = write(&app, "held.checkpoint", &held);
    let out = cli(
        &app,
        &[
            "audit",
            "verify",
            "--checkpoint",
            held_file.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    let key = public_key(&app).await;
    let (old, new) = (open(&held, &key), open(&take_checkpoint(&app).await, &key));
    let (status, p) = app
        .get(
            &app.reviewer_token,
            &format!(
                "/v1/audit/proof/consistency?from={}&to={}",
                old.size, new.size
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let (_, events) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit?call_id={pin_call}"),
        )
        .await;
    let first = events["items"][0]["seq"]
        .as_u64()
        .expect("the purged call's events stay");
    let (status, p) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit/proof/inclusion?seq={first}&size={}", new.size),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    proofs_verify(&old, &new, &p, first).await;

    let again = retention::run(app.state(), "test:retention", false)
        .await
        .expect("second run");
    assert_eq!(again.total(), 0, "nothing left to purge");
    app.shutdown().await;
}
on_both_engines!(
    a_purge_after_100_days_removes_exactly_what_the_policy_says,
    a_purge_after_100_days_removes_exactly_what_the_policy_says
);

async fn proofs_verify(
    _old: &pingate::audit::checkpoint::Checkpoint,
    new: &pingate::audit::checkpoint::Checkpoint,
    inclusion: &Value,
    seq: u64,
) {
    use pingate::audit::event::Event;
    use pingate::audit::merkle;
    let event = Event::from_json(&inclusion["event"]).expect("event");
    let leaf = merkle::leaf_hash(&event.canonical_bytes());
    let proof: Vec<merkle::Hash> = inclusion["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(|h| {
            hex::decode(h.as_str().expect("hex"))
                .expect("hex")
                .try_into()
                .expect("32 bytes")
        })
        .collect();
    merkle::verify_inclusion(seq - 1, new.size, &leaf, &proof, &new.root)
        .expect("the purged call's event is still proven");
}
