//! Someone with write access to the database deletes the checkpoints and
//! rewrites the history. The server remembers the last (size, root) it
//! signed outside the database and refuses to sign a log that does not
//! extend it: audited, and reported by `/readyz`.

use pingate::audit::event::{EventKind, NewEvent, Outcome};
use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

async fn append(app: &TestApp, n: usize, actor: &str) {
    for i in 0..n {
        let mut tx = app
            .state()
            .store
            .begin(app.state().clock.now_ms())
            .await
            .expect("begin");
        tx.audit(NewEvent::new(EventKind::OrgUpdated, actor, Outcome::Success).detail("i", i));
        tx.commit().await.expect("commit");
    }
}

async fn sql(app: &TestApp, query: &'static str) {
    sqlx::query(query)
        .execute(app.state().store.reader())
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
}

async fn a_rewritten_log_without_its_checkpoints_is_not_signed(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    append(&app, 5, "test:honest").await;
    let (status, first) = app
        .post(&app.reviewer_token, "/v1/audit/checkpoints", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // Growing the log honestly is signed as before.
    append(&app, 2, "test:honest").await;
    let (status, second) = app
        .post(&app.reviewer_token, "/v1/audit/checkpoints", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");

    // The forger rewrites history from the start, a valid chain of its own,
    // longer than what was signed, and removes every trace of the old one.
    sql(&app, "DELETE FROM audit_checkpoints").await;
    sql(&app, "DELETE FROM audit_tiles").await;
    sql(&app, "DELETE FROM audit_events").await;
    append(&app, 12, "test:forged").await;
    let (status, body) = app
        .post(&app.reviewer_token, "/v1/audit/checkpoints", json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the forgery was signed: {body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("last signed"),
        "{body}"
    );
    let (_, list) = app.get(&app.reviewer_token, "/v1/audit/checkpoints").await;
    assert_eq!(list["items"], json!([]), "nothing was signed");

    let refusals = app.events("audit_checkpoint_refused").await;
    assert!(!refusals.is_empty(), "the refusal is audited");
    assert_eq!(refusals[0]["detail"]["signed_size"], second["size"]);
    let (status, ready) = app.get(&app.reviewer_token, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["audit_checkpoints"], "refused", "{ready}");
    app.shutdown().await;
}
on_both_engines!(
    a_rewritten_log_without_its_checkpoints_is_not_signed,
    a_rewritten_log_without_its_checkpoints_is_not_signed
);
