//! The audit trail as a security reviewer uses it, against the running
//! server and the real `pingate` binary: query and filter real flows,
//! export, signed checkpoints, Merkle proofs, online and offline
//! verification. Checkpoints, proofs and concurrent writers are in
//! `checkpoints.rs`; tampering behind pingate's back in `tamper.rs`; the
//! stored Merkle tiles in `tiles.rs`.

mod checkpoints;
mod tamper;
mod tiles;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pingate::audit::checkpoint::{self, Checkpoint};
use pingate::audit::event::{Event, EventKind, NewEvent, Outcome};
use pingate::audit::merkle::Hash;
use pingate::clock::rfc3339;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{Engine, PEPPER, TestApp, call_sid};

// ------------------------------------------------------------------ helpers

/// An unregistered caller keys contoso's account number, the agent sends a
/// PIN by email, the caller reads one wrong PIN and then the right one.
/// Returns the call id and the PIN (which must appear in no event).
pub(super) async fn verified_call(app: &TestApp) -> (String, String) {
    let sid = call_sid();
    app.call(&sid, "+14155550123", Some("TN-Validation-Passed-A"))
        .await;
    let resp = app
        .webhook(
            "/webhooks/twilio/gather",
            &[("CallSid", &sid), ("Digits", "40012345")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let call_id = app.call_id_for(&sid).await;
    let challenge_id = app.challenge(&call_id, "email").await;
    let check = format!("/v1/challenges/{challenge_id}/check");
    let pin = app.pin_from_email(1).await;
    let wrong: String = pin
        .chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect();
    let (status, r) = app
        .post(&app.agent_token, &check, json!({"pin": wrong}))
        .await;
    assert_eq!(
        (status, &r["status"]),
        (StatusCode::OK, &json!("pending")),
        "{r}"
    );
    let (status, r) = app
        .post(&app.agent_token, &check, json!({"pin": pin}))
        .await;
    assert_eq!(
        (status, &r["status"]),
        (StatusCode::OK, &json!("approved")),
        "{r}"
    );
    (call_id, pin)
}

/// Appends `n` events through the store, each in its own audited write,
/// stamped `at`, by `actor`.
pub(super) async fn append(app: &TestApp, n: usize, actor: &str, at: i64) {
    for i in 0..n {
        let mut tx = app.state().store.begin(at).await.expect("begin");
        tx.audit(NewEvent::new(EventKind::OrgUpdated, actor, Outcome::Success).detail("i", i));
        tx.commit().await.expect("commit");
    }
}

pub(super) async fn get_text(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let resp = app
        .client
        .get(app.url(path))
        .bearer_auth(&app.reviewer_token)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map_or(String::new(), |v| v.to_str().unwrap_or("").into());
    (status, ctype, resp.text().await.expect("body"))
}

pub(super) async fn verify_api(app: &TestApp) -> Value {
    let (status, v) = app.get(&app.reviewer_token, "/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

/// Signs a checkpoint now and returns its text, as a reviewer keeps it.
pub(super) async fn take_checkpoint(app: &TestApp) -> String {
    let (status, cp) = app
        .post(&app.reviewer_token, "/v1/audit/checkpoints", json!({}))
        .await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "{status}: {cp}"
    );
    let (status, ctype, text) = get_text(app, "/v1/audit/checkpoints/latest").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    assert_eq!(cp["text"], text, "latest is exactly the stored text");
    text
}

pub(super) async fn public_key(app: &TestApp) -> String {
    let (status, ctype, key) = get_text(app, "/v1/audit/public-key").await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    key
}

/// The checkpoint text, its signature checked with the pinned key.
pub(super) fn open(text: &str, key: &str) -> Checkpoint {
    let (name, vk) = checkpoint::decode_public_key(key).expect("verifier key");
    checkpoint::parse_and_verify(text, &name, &vk).expect("checkpoint verifies")
}

pub(super) fn write(app: &TestApp, name: &str, content: &str) -> PathBuf {
    let path = app.dir.path().join(name);
    std::fs::write(&path, content).expect("write file");
    path
}

/// A configuration file for the CLI pointing at the test server's
/// database and data directory (where the signing key lives).
fn cli_config(app: &TestApp) -> PathBuf {
    let config = json!({
        "server": { "data_dir": app.settings.server.data_dir },
        "database": { "url": app.settings.database.url.expose() },
        "security": { "pepper": PEPPER },
        "audit": { "origin": app.settings.audit.origin },
    });
    let toml = toml::to_string(&config).expect("toml");
    write(app, "cli.toml", &toml)
}

pub(super) struct CliRun {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real binary: `pingate --config <test config> ARGS...`.
pub(super) async fn cli(app: &TestApp, args: &[&str]) -> CliRun {
    let config = cli_config(app);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_pingate"))
            .arg("--config")
            .arg(config)
            .args(args)
            .env_remove("PINGATE_LOG")
            .output()
    })
    .await
    .expect("join")
    .expect("run pingate");
    CliRun {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn hash(v: &Value) -> Hash {
    hex::decode(v.as_str().expect("hex string"))
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().expect("array").iter().map(hash).collect()
}

fn seqs(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect()
}

async fn items(app: &TestApp, query: &str) -> Value {
    let (status, page) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit?limit=1000&{query}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    assert_eq!(page["next"], Value::Null, "{query}: one page");
    page["items"].clone()
}

// -------------------------------------------------------------------- tests

async fn the_flows_events_are_listed_and_filterable(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    // Everything before the flow is a day older, so a time filter can
    // split the log deterministically.
    let before = app.state().clock.now_ms();
    app.clock.advance(Duration::from_secs(86_400));
    let mid = rfc3339(before + 3_600_000);
    let (call_id, pin) = verified_call(&app).await;

    let by_call = items(&app, &format!("call_id={call_id}")).await;
    let kinds: Vec<&str> = by_call
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "call_received",
        "call_org_identified",
        "challenge_created",
        "message_queued",
        "authn_pin_fail",
        "authn_pin_success",
        "grant_issued",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert!(
        by_call
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["call_id"] == call_id.as_str())
    );
    let s = seqs(&by_call);
    assert!(s.windows(2).all(|w| w[0] < w[1]), "in seq order: {s:?}");
    assert!(
        !by_call.to_string().contains(&pin),
        "no PIN in the audit trail"
    );
    assert!(
        !by_call.to_string().contains("+14155550123"),
        "caller number pseudonymised"
    );

    let by_org = items(&app, "org_id=contoso").await;
    assert!(
        by_org
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["org_id"] == "contoso")
    );
    assert!(
        by_org.to_string().contains("org_created"),
        "the import is audited"
    );

    let fails = items(&app, &format!("kind=authn_pin_fail&call_id={call_id}")).await;
    assert_eq!(fails.as_array().unwrap().len(), 1, "{fails}");
    assert_eq!(fails[0]["outcome"], "failure");
    assert_eq!(fails[0]["actor"], "agent:alice");
    let failures = items(&app, &format!("outcome=failure&call_id={call_id}")).await;
    assert!(
        failures
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["outcome"] == "failure")
    );
    assert_eq!(seqs(&failures), seqs(&fails));
    let by_actor = items(&app, "actor=agent:alice&kind=grant_issued").await;
    assert_eq!(by_actor.as_array().unwrap().len(), 1, "{by_actor}");

    // from/to: setup events before the split, the flow after it.
    let early = items(&app, &format!("to={mid}")).await;
    assert!(
        early
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["call_id"].is_null()),
        "{early}"
    );
    assert!(early.to_string().contains("principal_created"));
    let late = items(&app, &format!("from={mid}")).await;
    assert!(seqs(&late).iter().all(|s| !seqs(&early).contains(s)));
    assert!(seqs(&by_call).iter().all(|s| seqs(&late).contains(s)));

    // The cursor walks every event exactly once, in order.
    let all = items(&app, "").await;
    let mut walked = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = app
            .get(
                &app.reviewer_token,
                &format!("/v1/audit?limit=2&after_seq={after}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 2);
        walked.extend(seqs(&page["items"]));
        match page["next"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert!(
        walked.windows(2).all(|w| w[1] == w[0] + 1),
        "gapless: {walked:?}"
    );
    // The delivery worker may append while we walk: a superset, never less.
    assert!(seqs(&all).iter().all(|s| walked.contains(s)));

    for (query, status) in [
        ("from=yesterday", StatusCode::UNPROCESSABLE_ENTITY),
        ("limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("after_seq=x", StatusCode::BAD_REQUEST),
        ("colour=red", StatusCode::BAD_REQUEST),
    ] {
        let (got, body) = app
            .get(&app.reviewer_token, &format!("/v1/audit?{query}"))
            .await;
        assert_eq!(got, status, "{query}: {body}");
        assert!(
            body["type"]
                .as_str()
                .unwrap_or("")
                .starts_with("urn:pingate:problem:"),
            "{body}"
        );
    }
    app.shutdown().await;
}
on_both_engines!(
    the_flows_events_are_listed_and_filterable,
    the_flows_events_are_listed_and_filterable
);

async fn exports_stream_every_event_and_verify_offline(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    verified_call(&app).await;
    let held = take_checkpoint(&app).await;
    let key = public_key(&app).await;
    let size = open(&held, &key).size;

    let (status, ctype, jsonl) = get_text(&app, "/v1/audit/export?format=jsonl").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("application/x-ndjson"), "{ctype}");
    let events: Vec<Event> = jsonl
        .lines()
        .map(|l| Event::from_json(&serde_json::from_str(l).expect("json line")).expect("event"))
        .collect();
    assert!(events.len() as u64 >= size);
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as i64 + 1)
    );

    let (status, ctype, csv) = get_text(&app, "/v1/audit/export?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let mut rows = csv.lines();
    assert!(
        rows.next()
            .unwrap()
            .starts_with("seq,at,kind,actor,org_id,call_id")
    );
    assert!(
        rows.count() >= events.len(),
        "one row per event (the log only grows)"
    );
    let (_, _, org_csv) = get_text(&app, "/v1/audit/export?format=csv&org_id=contoso").await;
    assert!(
        org_csv.lines().skip(1).all(|r| r.contains(",contoso,")),
        "{org_csv}"
    );
    let (status, body) = app
        .get(&app.reviewer_token, "/v1/audit/export?format=xml")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Offline: the export, the kept checkpoint and the pinned key alone.
    let file = write(&app, "audit.jsonl", &jsonl);
    let cp = write(&app, "held.checkpoint", &held);
    let (file, cp) = (path_str(&file), path_str(&cp));
    let run = cli(
        &app,
        &[
            "audit",
            "verify",
            "--export",
            file,
            "--checkpoint",
            cp,
            "--public-key",
            &key,
        ],
    )
    .await;
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout
            .contains(&format!("consistent with your checkpoint of size {size}")),
        "{}",
        run.stdout
    );

    let run = cli(
        &app,
        &["audit", "verify", "--export", file, "--checkpoint", cp],
    )
    .await;
    assert!(
        !run.ok && run.stderr.contains("--public-key"),
        "{}",
        run.stderr
    );

    // An export cut short of the checkpoint, and one with an edited line.
    let short: String = jsonl
        .lines()
        .take(size as usize - 2)
        .map(|l| format!("{l}\n"))
        .collect();
    let short = write(&app, "short.jsonl", &short);
    let run = cli(
        &app,
        &[
            "audit",
            "verify",
            "--export",
            path_str(&short),
            "--checkpoint",
            cp,
            "--public-key",
            &key,
        ],
    )
    .await;
    assert!(!run.ok, "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!("event {}: missing", size - 1)),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("truncated"), "{}", run.stderr);

    let edited = jsonl.replacen(
        "\"actor\":\"agent:alice\"",
        "\"actor\":\"agent:mallory\"",
        1,
    );
    let first = events
        .iter()
        .find(|e| e.actor == "agent:alice")
        .unwrap()
        .seq;
    let edited = write(&app, "edited.jsonl", &edited);
    let run = cli(&app, &["audit", "verify", "--export", path_str(&edited)]).await;
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains(&format!("event {first}: content does not match")),
        "{}",
        run.stderr
    );

    // A checkpoint signed by another key is refused.
    let other = pingate::audit::checkpoint::encode_public_key(
        "pingate",
        &ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key(),
    )
    .unwrap();
    let run = cli(
        &app,
        &[
            "audit",
            "verify",
            "--export",
            file,
            "--checkpoint",
            cp,
            "--public-key",
            &other,
        ],
    )
    .await;
    assert!(
        !run.ok && run.stderr.contains("does not verify"),
        "{}",
        run.stderr
    );
    app.shutdown().await;
}
on_both_engines!(
    exports_stream_every_event_and_verify_offline,
    exports_stream_every_event_and_verify_offline
);

async fn an_untouched_log_verifies_online_and_with_the_cli(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    verified_call(&app).await;
    let held = take_checkpoint(&app).await;
    append(&app, 5, "test:later", app.state().clock.now_ms()).await;
    take_checkpoint(&app).await;

    let v = verify_api(&app).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["checkpoints"], 2, "{v}");
    assert_eq!(v["first_bad_seq"], Value::Null);

    let key = public_key(&app).await;
    let run = cli(&app, &["audit", "public-key"]).await;
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(
        run.stdout.trim(),
        key,
        "the CLI prints the key the API serves"
    );

    let run = cli(&app, &["audit", "verify"]).await;
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stdout.starts_with("ok: "), "{}", run.stdout);
    assert!(
        run.stdout.contains("2 stored checkpoints checked"),
        "{}",
        run.stdout
    );

    let file = write(&app, "held.checkpoint", &held);
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
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout.contains("consistent with your checkpoint"),
        "{}",
        run.stdout
    );
    app.shutdown().await;
}
on_both_engines!(
    an_untouched_log_verifies_online_and_with_the_cli,
    an_untouched_log_verifies_online_and_with_the_cli
);
