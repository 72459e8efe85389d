//! Response time does not tell which challenge ids, numbers or account
//! numbers exist, because each path does the same work: an unknown
//! challenge id costs the same one argon2 verify as a wrong PIN on a real
//! challenge (counted by `pingate_pin_verifications_total`), and the voice
//! and IVR webhooks write the same rows for a known and an unknown number,
//! and the IVR runs the same statements (reads and UPDATEs included) for a
//! known and an unknown account number.
//! Counting the work, not timing it, keeps these tests exact on a shared
//! machine; the wall-clock comparison is `examples/timing_compare.rs`.
//! The verify counter is process-wide, so that test runs with no other
//! server of this binary alive (`Options::alone`).

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::app::{Engine, Options, TestApp, call_sid, wrong_pin};

/// argon2 verifies done so far, as `/metrics` reports them.
async fn verifications(app: &TestApp) -> f64 {
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("pingate_pin_verifications_total "))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

/// A check's answer and the argon2 verifies it did.
async fn check_counting(app: &TestApp, id: &str, pin: &str) -> (StatusCode, Value, f64) {
    let before = verifications(app).await;
    let (status, body) = app.check(id, pin).await;
    (status, body, verifications(app).await - before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_challenge_ids_cost_the_same_verify_as_wrong_pins() {
    let opts = Options {
        alone: true,
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, "timing", opts).await else {
        return;
    };
    app.import_contoso().await;
    let (_, challenge_id, pin) = app.pending_pin(1).await;
    let wrong = wrong_pin(&pin);

    let (status, body, n) = check_counting(&app, &challenge_id, wrong).await;
    assert_eq!((status, n), (StatusCode::OK, 1.0), "a wrong PIN: {body}");
    let ghost = format!("chl_{}", uuid::Uuid::new_v4().simple());
    let (status, body, n) = check_counting(&app, &ghost, wrong).await;
    assert_eq!(
        (status, n),
        (StatusCode::NOT_FOUND, 1.0),
        "an unknown id: {body}"
    );
    let (status, body, n) = check_counting(&app, "not-an-id", wrong).await;
    assert_eq!(
        (status, n),
        (StatusCode::NOT_FOUND, 1.0),
        "a malformed id: {body}"
    );
    let (status, body, n) = check_counting(&app, &challenge_id, &pin).await;
    assert_eq!((status, n), (StatusCode::OK, 1.0), "the right PIN: {body}");
    assert_eq!(body["status"], "approved", "{body}");
    app.shutdown().await;
}

/// The number of rows in each table.
async fn row_counts(app: &TestApp) -> Vec<(String, i64)> {
    let pool = app.state().store.reader();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut counts = Vec::new();
    for t in tables {
        let q = format!("SELECT COUNT(*) FROM \"{t}\"");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(q))
            .fetch_one(pool)
            .await
            .unwrap();
        counts.push((t, n));
    }
    counts
}

/// The rows each table gained between two counts.
fn added(before: &[(String, i64)], after: &[(String, i64)]) -> Vec<(String, i64)> {
    after
        .iter()
        .zip(before)
        .map(|((t, a), (_, b))| (t.clone(), a - b))
        .filter(|(_, d)| *d != 0)
        .collect()
}

/// The voice webhook writes the same rows for a registered and an unknown
/// number (one call and its audit event), and the IVR the same for a known
/// and an unknown account number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_and_unknown_numbers_and_accounts_do_the_same_writes() {
    let Some(app) = TestApp::spawn(Engine::Sqlite, "timing numbers").await else {
        return;
    };
    app.import_contoso().await;
    let mut calls = Vec::new();
    for from in ["+14155550100", "+14155550177"] {
        let before = row_counts(&app).await;
        app.call(&call_sid(), from, None).await;
        calls.push(added(&before, &row_counts(&app).await));
    }
    assert!(!calls[0].is_empty(), "a call is stored");
    assert_eq!(calls[0], calls[1], "registered vs unknown number");

    let mut gathers = Vec::new();
    for (i, digits) in ["40012345", "49999999"].into_iter().enumerate() {
        let sid = call_sid();
        app.call(&sid, &format!("+1415555{:04}", 2000 + i), None)
            .await;
        let before = row_counts(&app).await;
        let r = app
            .webhook(
                "/webhooks/twilio/gather",
                &[("CallSid", sid.as_str()), ("Digits", digits)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        gathers.push(added(&before, &row_counts(&app).await));
    }
    assert!(!gathers[0].is_empty(), "the typed account is recorded");
    assert_eq!(gathers[0], gathers[1], "known vs unknown account number");
    app.shutdown().await;
}

/// The statements the server ran while `during` ran, each as its verb and
/// first table ("SELECT orgs", "UPDATE calls"), sorted: reads and UPDATEs
/// included, which row counts cannot see. Only meaningful alone.
async fn statements_during<F: std::future::Future>(during: F) -> (F::Output, Vec<String>) {
    let from = crate::support::logs::captured_len();
    let out = during.await;
    let all = crate::support::logs::captured();
    let mut seen: Vec<String> = String::from_utf8_lossy(&all[from..])
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["target"] == "sqlx::query")
        // The background jobs poll on their own timers (the checkpointer
        // reads the head every second): their statements are not the request's.
        .filter(|e| background_job(e).is_none())
        .filter_map(|e| e["fields"]["db.statement"].as_str().map(fingerprint))
        .filter(|f| !f.is_empty())
        .collect();
    seen.sort();
    (out, seen)
}

/// The background job whose span a captured event ran inside, if any.
fn background_job(event: &Value) -> Option<&str> {
    event["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "background")
        .and_then(|s| s["job"].as_str())
}

/// "VERB table" of a statement; empty for transaction control.
fn fingerprint(sql: &str) -> String {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let Some(verb) = words.first() else {
        return String::new();
    };
    let after = |key: &str| {
        words
            .iter()
            .position(|w| w == key)
            .and_then(|i| words.get(i + 1))
            .map(|t| t.trim_matches('"').to_ascii_lowercase())
    };
    let table = match verb.as_str() {
        "SELECT" => after("FROM"),
        "UPDATE" => words.get(1).map(|t| t.to_ascii_lowercase()),
        "INSERT" => after("INTO"),
        "DELETE" => after("FROM"),
        _ => return String::new(),
    };
    format!("{verb} {}", table.unwrap_or_default())
}

/// With the support menus on, the IVR does the same statements for a known
/// and an unknown account number: the same reads (an org looked up for
/// both), and one UPDATE of the call each.
async fn known_and_unknown_accounts_run_the_same_statements(engine: Engine, test: &str) {
    let opts = Options {
        alone: true,
        tweak: Box::new(|s| s.support = Some(crate::webhooks::lines::desk_support())),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let mut runs = Vec::new();
    for (i, digits) in ["40012345", "49999999"].into_iter().enumerate() {
        let sid = call_sid();
        app.call(&sid, &format!("+1415555{:04}", 3000 + i), None)
            .await;
        let form = [("CallSid", sid.as_str()), ("Digits", digits)];
        let gather = app.webhook("/webhooks/twilio/gather", &form);
        let (r, seen) = statements_during(gather).await;
        assert_eq!(r.status(), StatusCode::OK);
        runs.push(seen);
    }
    assert!(
        runs[0].iter().any(|s| s == "SELECT orgs"),
        "the statements are seen: {runs:?}"
    );
    assert_eq!(runs[0], runs[1], "known vs unknown account number");
    app.shutdown().await;
}
crate::on_both_engines!(
    known_and_unknown_accounts_run_the_same_statements,
    known_and_unknown_accounts_run_the_same_statements
);

/// The filter above depends on this: the checkpointer's first pass (run as
/// the server starts) reads the log inside `background{job=checkpointer}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_jobs_run_their_statements_in_their_own_span() {
    let Some(app) = TestApp::spawn(Engine::Sqlite, "timing background span").await else {
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let all = crate::support::logs::captured();
        let seen = String::from_utf8_lossy(&all)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|e| e["target"] == "sqlx::query" && background_job(&e) == Some("checkpointer"));
        if seen {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no statement of the checkpointer was logged inside its span"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.shutdown().await;
}

/// The voice webhook's write runs on the group writer (a job), yet its
/// statements log under the request that asked for it, so an operator can
/// follow one request from its access line to its INSERT.
async fn a_webhook_job_logs_its_statements_under_its_request(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let sid = call_sid();
    let form = [
        ("CallSid", sid.as_str()),
        ("AccountSid", crate::support::app::ACCOUNT_SID),
        ("From", "+14155550100"),
        ("To", "+18005550100"),
    ];
    let r = app.webhook("/webhooks/twilio/voice", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let id = r.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_string();
    let all = crate::support::logs::captured();
    let under_request = String::from_utf8_lossy(&all)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["target"] == "sqlx::query")
        .filter(|e| {
            e["spans"].as_array().is_some_and(|spans| {
                spans
                    .iter()
                    .any(|s| s["name"] == "request" && s["request_id"] == id.as_str())
            })
        })
        .filter_map(|e| e["fields"]["db.statement"].as_str().map(fingerprint))
        .collect::<Vec<_>>();
    assert!(
        under_request.iter().any(|f| f == "INSERT calls"),
        "request {id}: {under_request:?}"
    );
    app.shutdown().await;
}
crate::on_both_engines!(
    a_webhook_job_logs_its_statements_under_its_request,
    a_webhook_job_logs_its_statements_under_its_request
);
