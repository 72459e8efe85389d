//! Hang-ups racing the agent: a `completed` status callback landing inside
//! a PIN check (forced: the check waits to hash while the call ends), and
//! sent together with a new challenge or a trusted grant on the same call,
//! for many calls at once. Whichever wins, no answer is a 5xx, nothing is
//! left pending on an ended call, and the audit log never shows a PIN or a
//! grant issued after the call ended. And a check whose request is
//! abandoned half-way still ends recorded.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::delivery::delivery_reaches;
use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, call_sid, wrong_pin};
use crate::support::pg_locks::AuditLockHolder;

const CALLS: usize = 24;

fn generous(s: &mut pingate::config::Settings) {
    let l = &mut s.limits;
    l.challenges_per_org = 100_000;
    l.challenges_per_agent = 100_000;
    l.checks_per_org = 100_000;
    l.checks_per_agent = 100_000;
    l.sends_per_destination = 100_000;
    // One agent races many checks at once here; the hashing cap per
    // principal is tested on its own (hardening::hash_pool).
    s.pin.hash_per_principal = 1_000;
    s.pin.hash_queue = 1_000;
}

struct Live {
    sid: String,
    id: String,
}

/// A call from `from`, attached to contoso by the agent.
async fn live_call(app: &TestApp, from: &str, attestation: Option<&str>) -> Live {
    let sid = call_sid();
    app.call(&sid, from, attestation).await;
    let id = app.call_id_for(&sid).await;
    let (status, body) = app.set_org(&id, "contoso").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Live { sid, id }
}

async fn hang_up(app: &TestApp, sid: &str) -> StatusCode {
    app.webhook(
        "/webhooks/twilio/status",
        &[("CallSid", sid), ("CallStatus", "completed")],
    )
    .await
    .status()
}

async fn scalar(app: &TestApp, query: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_string()))
        .fetch_one(app.state().store.reader())
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// What must hold however each race went.
async fn nothing_outlives_the_call(app: &TestApp, answers: &[(StatusCode, Value)]) {
    let failed: Vec<_> = answers
        .iter()
        .filter(|(s, _)| s.is_server_error())
        .collect();
    assert!(failed.is_empty(), "5xx answers: {failed:?}");
    let active = scalar(app, "SELECT COUNT(*) FROM calls WHERE status <> 'ended'").await;
    assert_eq!(active, 0, "every call ended");
    let pending = scalar(
        app,
        "SELECT COUNT(*) FROM challenges c JOIN calls k ON k.id = c.call_id \
         WHERE c.status = 'pending'",
    )
    .await;
    assert_eq!(pending, 0, "a challenge left pending on an ended call");
    let after_end = scalar(
        app,
        "SELECT COUNT(*) FROM audit_events a JOIN audit_events e ON e.call_id = a.call_id \
         WHERE e.kind = 'call_ended' AND a.seq > e.seq \
         AND a.kind IN ('challenge_created', 'grant_issued', 'authn_pin_success')",
    )
    .await;
    assert_eq!(after_end, 0, "a PIN or grant issued after its call ended");
}

/// Sends each right PIN and, while every one of those checks is between
/// reserving its attempt and hashing, hangs each call up; then lets the
/// checks finish. Requires that each check lost to its hang-up (the
/// challenge was cancelled under it); returns every answer.
async fn checks_overtaken_by_hang_ups(
    app: &TestApp,
    with_pin: &[(Live, String, String)],
) -> Vec<(StatusCode, Value)> {
    let state = app.state();
    let permits = Arc::clone(&state.hash_permits)
        .acquire_many_owned(state.settings.pin.hash_concurrency as u32)
        .await
        .expect("the hashing permits");
    let checks = join_all(with_pin.iter().map(|(_, ch, pin)| app.check(ch, pin)));
    tokio::pin!(checks);
    let reserved = format!(
        "SELECT COUNT(*) FROM challenges WHERE status = 'pending' AND attempts = 1 \
         AND id IN ({})",
        with_pin
            .iter()
            .map(|(_, ch, _)| format!("'{ch}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    tokio::select! {
        r = &mut checks => panic!("the checks did not wait to hash: {r:?}"),
        () = until_scalar(app, &reserved, with_pin.len() as i64) => {}
    }
    let hang_ups = join_all(with_pin.iter().map(|(call, _, _)| hang_up(app, &call.sid)));
    let hung = tokio::select! {
        r = &mut checks => panic!("the checks did not wait to hash: {r:?}"),
        hung = hang_ups => hung,
    };
    drop(permits);
    let checks = checks.await;
    for (status, body) in &checks {
        assert_eq!(
            (*status, body["type"].as_str()),
            (
                StatusCode::CONFLICT,
                Some("urn:pingate:problem:challenge-not-pending")
            ),
            "a check that lost to its hang-up: {body}"
        );
    }
    assert_eq!(
        scalar(
            app,
            "SELECT COUNT(*) FROM challenges WHERE status = 'cancelled' AND attempts = 1"
        )
        .await,
        with_pin.len() as i64,
        "each challenge was cancelled with its attempt reserved"
    );
    let hung = hung.into_iter().map(|s| (s, Value::Null));
    checks.into_iter().chain(hung).collect()
}

/// Polls `query` (bounded) until it counts `n`.
async fn until_scalar(app: &TestApp, query: &str, n: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = scalar(app, query).await;
        if got == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{query}: {got}, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn hang_ups_racing_checks_new_pins_and_grants(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(generous),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;

    // Calls with a pending PIN the caller can read.
    let mut with_pin = Vec::new();
    for i in 0..CALLS {
        let call = live_call(&app, &format!("+1415555{:04}", 3000 + i), None).await;
        let challenge = app.challenge(&call.id, "email").await;
        let pin = app.pin_from_email(i + 1).await;
        with_pin.push((call, challenge, pin));
    }
    // Calls that are about to get their first PIN.
    let mut fresh = Vec::new();
    for i in 0..CALLS {
        fresh.push(live_call(&app, &format!("+1415555{:04}", 4000 + i), None).await);
    }
    // Calls from the registered, attested number, about to get a grant.
    let mut trusted = Vec::new();
    for _ in 0..CALLS {
        trusted.push(live_call(&app, "+14155550100", Some("TN-Validation-Passed-A")).await);
    }

    // The contested path, forced: every check has reserved its attempt and
    // waits to hash the right PIN (the test holds every hashing permit)
    // when its call ends. Released then, none may approve.
    let checks = checks_overtaken_by_hang_ups(&app, &with_pin).await;
    let new_pins = fresh.iter().map(|call| async {
        let path = format!("/v1/calls/{}/challenges", call.id);
        let (created, hung) = tokio::join!(
            app.post(&app.agent_token, &path, json!({"channel": "email"})),
            hang_up(&app, &call.sid)
        );
        [created, (hung, Value::Null)]
    });
    let grants = trusted.iter().map(|call| async {
        let (granted, hung) = tokio::join!(app.grant(&call.id), hang_up(&app, &call.sid));
        [granted, (hung, Value::Null)]
    });
    let (b, c) = tokio::join!(join_all(new_pins), join_all(grants));
    let answers: Vec<_> = checks
        .into_iter()
        .chain(b.into_iter().chain(c).flatten())
        .collect();

    // Each race has one of two outcomes, both answered cleanly.
    for (status, body) in &answers {
        assert!(
            [
                StatusCode::OK,
                StatusCode::CREATED,
                StatusCode::NO_CONTENT,
                StatusCode::CONFLICT
            ]
            .contains(status),
            "{status}: {body}"
        );
    }
    nothing_outlives_the_call(&app, &answers).await;
    app.shutdown().await;
}
on_both_engines!(
    hang_ups_racing_checks_new_pins_and_grants,
    hang_ups_racing_checks_new_pins_and_grants
);

/// Keeps every hashing thread busy until the returned sender is dropped;
/// returns once each one is.
async fn occupy_every_hashing_thread(
    state: &pingate::app::AppState,
) -> std::sync::mpsc::Sender<()> {
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = Arc::new(std::sync::Mutex::new(held));
    for _ in 0..state.settings.pin.hash_concurrency {
        let (started, running) = tokio::sync::oneshot::channel();
        let (pool, held) = (Arc::clone(&state.hash_pool), Arc::clone(&held));
        tokio::spawn(async move {
            pool.run(move |_, _| {
                let _ = started.send(());
                // Returns when the sender is dropped.
                let _ = held.lock().map(|h| h.recv());
            })
            .await
        });
        running.await.expect("a hashing thread took the job");
    }
    release
}

/// A check whose request ends before the PIN is hashed (here the request
/// timeout, while the test keeps every hashing thread busy) still ends
/// recorded: its reserved attempt is audited as a failure and counted,
/// instead of vanishing with the request.
async fn an_abandoned_check_is_still_recorded(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| {
            // Long enough for the set-up requests on a busy machine; the
            // check itself waits for the permits for ever.
            s.server.request_timeout = pingate::config::HumanDuration(Duration::from_secs(3));
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let (_, challenge_id, pin) = app.pending_pin(1).await;
    let wrong = wrong_pin(&pin);

    let state = app.state();
    let release = occupy_every_hashing_thread(state).await;
    let (status, body) = app.check(&challenge_id, wrong).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert!(app.events("authn_pin_fail").await.is_empty());
    drop(release);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.events("authn_pin_fail").await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the abandoned check was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, ch) = app
        .get(&app.agent_token, &format!("/v1/challenges/{challenge_id}"))
        .await;
    assert_eq!(ch["attempts_left"], 4, "{ch}");
    let (status, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(
        (status, r["status"].as_str()),
        (StatusCode::OK, Some("approved")),
        "{r}"
    );
    app.shutdown().await;
}
on_both_engines!(
    an_abandoned_check_is_still_recorded,
    an_abandoned_check_is_still_recorded
);

/// Administrators creating the same org at once: one is created, every
/// other request is told it exists, and nothing is overwritten.
async fn concurrent_creates_of_one_org_make_it_once(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let creates = (0..20).map(|i| {
        app.post(
            &app.admin_token,
            "/v1/orgs",
            json!({
                "id": "fabrikam", "name": format!("Fabrikam {i}"), "account_number": "5550001",
                "registered_numbers": [], "channels": ["email"],
                "contacts": {"email": "it@fabrikam.example"}, "language": "en",
            }),
        )
    });
    let answers = join_all(creates).await;
    let created: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["type"], "urn:pingate:problem:org-exists", "{body}");
    }
    let (_, org) = app.get(&app.admin_token, "/v1/orgs/fabrikam").await;
    assert_eq!(
        org["name"], created[0].1["name"],
        "the winner is what is stored"
    );
    assert_eq!(app.events("org_created").await.len(), 1);
    assert!(app.events("org_updated").await.is_empty());

    // Another org with the same account number is invalid input, not a
    // clash of ids.
    let (status, body) = app
        .post(
            &app.admin_token,
            "/v1/orgs",
            json!({
                "id": "northwind", "name": "Northwind", "account_number": "5550001",
                "registered_numbers": [], "channels": ["email"],
                "contacts": {"email": "it@northwind.example"}, "language": "en",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "account_number", "{body}");
    app.shutdown().await;
}
on_both_engines!(
    concurrent_creates_of_one_org_make_it_once,
    concurrent_creates_of_one_org_make_it_once
);

/// An administrator resets a caller's lockout while the check that locks
/// the caller out is committing (held there by the audit lock). The reset
/// waits for it and ends that lockout instead of missing it. PostgreSQL
/// only: SQLite's single writer cannot interleave them. Group commit is
/// off, so the two interleave as they do between two instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pingate_test_postgres),
    ignore = "PostgreSQL only: set PINGATE_TEST_DATABASE_URL to run it"
)]
async fn a_reset_during_the_locking_check_ends_that_lockout() {
    let test = "a_reset_during_the_locking_check_ends_that_lockout";
    let opts = Options {
        tweak: Box::new(|s| {
            s.limits.failures_per_caller = 1;
            s.database.group_commit_max = 1;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(Engine::Postgres, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let (call_id, challenge_id, pin) = app.pending_pin(1).await;
    // The PIN's delivery is recorded (audited) before the lock is taken.
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;

    let ((check_status, check), (reset_status, reset)) = {
        let mut lock = AuditLockHolder::take(&app).await;
        let check = app.check(&challenge_id, wrong_pin(&pin));
        tokio::pin!(check);
        tokio::select! {
            r = &mut check => panic!("the check did not wait for the audit lock: {r:?}"),
            () = lock.until_waiting(1) => {}
        }
        let reset = app.post(
            &app.admin_token,
            "/v1/lockouts/reset",
            json!({"org_id": "contoso", "caller": "+14155550123"}),
        );
        tokio::pin!(reset);
        tokio::select! {
            r = &mut reset => panic!("the reset did not wait for the check: {r:?}"),
            () = lock.until_waiting(2) => {}
        }
        lock.release().await;
        (check.await, reset.await)
    };
    assert_eq!(
        (check_status, check["status"].as_str()),
        (StatusCode::OK, Some("locked")),
        "{check}"
    );
    assert_eq!(reset_status, StatusCode::OK, "{reset}");
    assert_eq!(reset["reset"].as_array().map(Vec::len), Some(1), "{reset}");
    let (_, active) = app.get(&app.admin_token, "/v1/lockouts").await;
    assert_eq!(active["items"], json!([]), "{active}");
    app.shutdown().await;
}
