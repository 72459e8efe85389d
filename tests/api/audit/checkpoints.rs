//! Signed checkpoints and Merkle proofs from the running server, checked
//! with the pure verifiers a reviewer would use; the background signer;
//! and one gapless chain under concurrent writers on both engines.

use std::sync::Arc;
use std::time::Duration;

use pingate::audit::event::{Event, EventKind, NewEvent, Outcome};
use pingate::audit::merkle;
use reqwest::StatusCode;
use serde_json::json;

use super::{append, cli, hash, hashes, items, open, public_key, take_checkpoint, verify_api};
use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, split};

async fn proofs_from_the_api_verify_against_signed_checkpoints(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let key = public_key(&app).await;
    let old = open(&take_checkpoint(&app).await, &key);
    append(&app, 9, "test:proofs", app.state().clock.now_ms()).await;
    let new = open(&take_checkpoint(&app).await, &key);
    assert!(old.size >= 1 && new.size == old.size + 9);

    for seq in 1..=new.size {
        for cp in [&old, &new].into_iter().filter(|cp| seq <= cp.size) {
            let (status, p) = app
                .get(
                    &app.reviewer_token,
                    &format!("/v1/audit/proof/inclusion?seq={seq}&size={}", cp.size),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{p}");
            let event = Event::from_json(&p["event"]).expect("event");
            let leaf = merkle::leaf_hash(&event.canonical_bytes());
            assert_eq!(leaf, hash(&p["leaf_hash"]));
            assert_eq!(p["leaf_index"], seq - 1);
            let proof = hashes(&p["proof"]);
            merkle::verify_inclusion(seq - 1, cp.size, &leaf, &proof, &cp.root)
                .expect("inclusion verifies");
            if let Some(first) = proof.first() {
                let mut bad = proof.clone();
                bad[0] = merkle::node_hash(first, first);
                assert!(merkle::verify_inclusion(seq - 1, cp.size, &leaf, &bad, &cp.root).is_err());
            }
        }
    }

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
    assert_eq!(
        (hash(&p["from_root"]), hash(&p["to_root"])),
        (old.root, new.root)
    );
    merkle::verify_consistency(
        old.size,
        new.size,
        &old.root,
        &new.root,
        &hashes(&p["proof"]),
    )
    .expect("consistency verifies");
    let (_, p) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit/proof/consistency?from=0&to={}", new.size),
        )
        .await;
    assert_eq!(p["proof"], json!([]));
    assert_eq!(hash(&p["from_root"]), merkle::empty_root());
    let (_, p) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit/proof/consistency?from={0}&to={0}", new.size),
        )
        .await;
    assert_eq!(
        (p["proof"].clone(), hash(&p["to_root"])),
        (json!([]), new.root)
    );

    let beyond = new.size + 1_000;
    for (query, status) in [
        (
            format!("inclusion?seq=0&size={}", new.size),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "inclusion?seq=5&size=4".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!("inclusion?seq=1&size={beyond}"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "consistency?from=5&to=4".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!("consistency?from=1&to={beyond}"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("inclusion?seq=1".to_string(), StatusCode::BAD_REQUEST),
        (
            "consistency?from=-1&to=2".to_string(),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/v1/audit/proof/{query}")))
            .bearer_auth(&app.reviewer_token)
            .send()
            .await
            .unwrap();
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json")
        );
        let (got, body) = split(resp).await;
        assert_eq!(got, status, "{query}: {body}");
    }
    app.shutdown().await;
}
on_both_engines!(
    proofs_from_the_api_verify_against_signed_checkpoints,
    proofs_from_the_api_verify_against_signed_checkpoints
);

async fn checkpoints_are_listed_signed_and_made_only_when_the_log_grew(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let (status, body) = app
        .get(&app.reviewer_token, "/v1/audit/checkpoints/latest")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, first) = app
        .post(&app.reviewer_token, "/v1/audit/checkpoints", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = app
        .post(&app.reviewer_token, "/v1/audit/checkpoints", json!({}))
        .await;
    assert_eq!(
        (status, &again),
        (StatusCode::OK, &first),
        "the log has not grown"
    );
    append(&app, 3, "test:grow", app.state().clock.now_ms()).await;
    let (status, second) = app
        .post(&app.reviewer_token, "/v1/audit/checkpoints", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["size"], first["size"].as_u64().unwrap() + 3);

    let (_, list) = app.get(&app.reviewer_token, "/v1/audit/checkpoints").await;
    assert_eq!(list, json!({"items": [first, second], "next": null}));
    let (_, page) = app
        .get(&app.reviewer_token, "/v1/audit/checkpoints?limit=1")
        .await;
    assert_eq!(page, json!({"items": [first], "next": first["size"]}));
    let (_, page) = app
        .get(
            &app.reviewer_token,
            &format!("/v1/audit/checkpoints?limit=1&after_size={}", first["size"]),
        )
        .await;
    assert_eq!(page["items"], json!([second]));

    let key = public_key(&app).await;
    let cp = open(second["text"].as_str().unwrap(), &key);
    assert_eq!(
        (cp.origin.as_str(), json!(cp.size)),
        ("pingate", second["size"].clone())
    );
    assert_eq!(hex::encode(cp.root), second["root"].as_str().unwrap());
    assert_eq!(
        hex::encode(cp.root),
        verify_api(&app).await["root"].as_str().unwrap()
    );

    // Reviewer routes only.
    let (status, _) = app.get(&app.agent_token, "/v1/audit/checkpoints").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(&app.agent_token, "/v1/audit/checkpoints", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.shutdown().await;
}
on_both_engines!(
    checkpoints_are_listed_signed_and_made_only_when_the_log_grew,
    checkpoints_are_listed_signed_and_made_only_when_the_log_grew
);

async fn the_background_signer_checkpoints_every_n_events_and_after_the_interval(
    engine: Engine,
    test: &str,
) {
    let opts = Options {
        tweak: Box::new(|s| s.audit.checkpoint_every_events = 4),
        ..Default::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    let pool = app.state().store.reader().clone();
    let head = || pingate::store::checkpoints::head_seq(&pool);
    let latest = || pingate::store::checkpoints::latest(&pool);
    let state = Arc::clone(&app.server.as_ref().unwrap().state);
    let mut signer = pingate::service::checkpointer::Checkpointer::new(state);

    // The server's own task signs once 4 events follow; it polls, so wait
    // (bounded) for it rather than for a fixed time.
    append(&app, 4, "test:bg", app.state().clock.now_ms()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while latest().await.unwrap().is_none_or(|c| c.size < 4) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint from the background task"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Exactly N - 1 unsigned events and no time passed: nothing is due,
    // for this signer or the server's.
    let signed = latest().await.unwrap().unwrap();
    let unsigned = head().await.unwrap() - signed.size;
    append(
        &app,
        3 - unsigned as usize,
        "test:bg",
        app.state().clock.now_ms(),
    )
    .await;
    assert_eq!(signer.tick().await.unwrap(), None);
    assert_eq!(latest().await.unwrap().unwrap(), signed);
    // Once the interval has passed, the tail is signed (by this signer or
    // the server's: the same checkpoint either way).
    app.clock
        .advance(app.settings.audit.checkpoint_interval.0 + Duration::from_secs(1));
    signer.tick().await.expect("tick");
    assert_eq!(latest().await.unwrap().unwrap().size, head().await.unwrap());
    let v = verify_api(&app).await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["checkpoints"].as_u64().unwrap() >= 2, "{v}");
    app.shutdown().await;
}
on_both_engines!(
    the_background_signer_checkpoints_every_n_events_and_after_the_interval,
    the_background_signer_checkpoints_every_n_events_and_after_the_interval
);

async fn concurrent_writers_produce_one_gapless_chain(engine: Engine, test: &str) {
    const TASKS: usize = 8;
    const WRITES: usize = 50;
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let before = verify_api(&app).await["events"].as_u64().unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS + 1));
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = app.state().store.clone();
        let clock = Arc::clone(&app.state().clock);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            for i in 0..WRITES {
                let mut tx = store.begin(clock.now_ms()).await.expect("begin");
                tx.audit(
                    NewEvent::new(
                        EventKind::OrgUpdated,
                        format!("test:writer{t}"),
                        Outcome::Success,
                    )
                    .detail("i", i),
                );
                tx.commit().await.expect("commit");
            }
        }));
    }
    // A reviewer signs checkpoints while the writers run.
    barrier.wait().await;
    for _ in 0..5 {
        let (status, cp) = app
            .post(&app.reviewer_token, "/v1/audit/checkpoints", json!({}))
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {cp}"
        );
    }
    for t in tasks {
        t.await.expect("writer");
    }
    take_checkpoint(&app).await;

    let v = verify_api(&app).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        v["events"].as_u64().unwrap(),
        before + (TASKS * WRITES) as u64,
        "{v}"
    );
    for t in 0..TASKS {
        let mine = items(&app, &format!("actor=test:writer{t}")).await;
        assert_eq!(mine.as_array().unwrap().len(), WRITES, "writer {t}");
    }
    let run = cli(&app, &["audit", "verify"]).await;
    assert!(run.ok, "{}", run.stderr);
    app.shutdown().await;
}
on_both_engines!(
    concurrent_writers_produce_one_gapless_chain,
    concurrent_writers_produce_one_gapless_chain
);
