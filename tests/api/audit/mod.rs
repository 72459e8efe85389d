//! The audit trail as a security reviewer uses it, against the running
//! server and the real `pingate` binary: query and filter real flows,
//! export, signed checkpoints, Merkle proofs, online and offline
//! verification. What a reviewer reads of real flows is in `review.rs`;
//! checkpoints, proofs and concurrent writers in `checkpoints.rs`; the
//! signed-size anchor in `checkpoint_anchor.rs`; event times along `seq` in
//! `event_order.rs`; tampering behind pingate's back in `tamper.rs`; the
//! stored Merkle tiles in `tiles.rs`. This file holds their helpers.

mod checkpoint_anchor;
mod checkpoints;
mod event_order;
mod review;
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
