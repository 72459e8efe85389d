//! Proofs over a log longer than a tile (256 events): the checkpointer
//! stores tile roots, proofs read them instead of the whole log, and a tile
//! or event altered behind pingate's back never yields a proof that passes
//! against a signed checkpoint.

use pingate::audit::event::{Event, EventKind, NewEvent, Outcome};
use pingate::audit::merkle::{self, Hash};
use reqwest::StatusCode;
use serde_json::Value;

use super::{hash, hashes, open, public_key, take_checkpoint};
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

/// Appends `n` events in one transaction.
async fn append_batch(app: &TestApp, n: usize) {
    let mut tx = app
        .state()
        .store
        .begin(app.state().clock.now_ms())
        .await
        .expect("begin");
    for i in 0..n {
        tx.audit(
            NewEvent::new(EventKind::OrgUpdated, "test:tiles", Outcome::Success).detail("i", i),
        );
    }
    tx.commit().await.expect("commit");
}

async fn tiles(app: &TestApp) -> Vec<(i64, Vec<u8>)> {
    sqlx::query_as("SELECT idx, root FROM audit_tiles ORDER BY idx")
        .fetch_all(app.state().store.reader())
        .await
        .expect("tiles")
}

async fn exec(app: &TestApp, query: &str) {
    sqlx::query(sqlx::AssertSqlSafe(query.to_string()))
        .execute(app.state().store.reader())
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
}

async fn inclusion(app: &TestApp, seq: u64, size: u64) -> (StatusCode, Value) {
    app.get(
        &app.reviewer_token,
        &format!("/v1/audit/proof/inclusion?seq={seq}&size={size}"),
    )
    .await
}

/// The proof from the API verifies against `root`.
fn proves(p: &Value, seq: u64, size: u64, root: &Hash) -> bool {
    let event = Event::from_json(&p["event"]).expect("event");
    let leaf = merkle::leaf_hash(&event.canonical_bytes());
    merkle::verify_inclusion(seq - 1, size, &leaf, &hashes(&p["proof"]), root).is_ok()
}

async fn proofs_over_tiles_match_the_signed_checkpoints(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let key = public_key(&app).await;
    append_batch(&app, 300).await;
    let old = open(&take_checkpoint(&app).await, &key);
    append_batch(&app, 500).await;
    let new = open(&take_checkpoint(&app).await, &key);
    assert!(old.size >= 300 && new.size == old.size + 500);

    // Signing stored one root per whole tile, each the root of its events.
    let stored = tiles(&app).await;
    assert_eq!(stored.len() as u64, new.size / 256, "{stored:?}");
    let idx: Vec<i64> = stored.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, (0..(new.size / 256) as i64).collect::<Vec<_>>());

    // Events in the first tile, across a tile edge, and after the last one.
    let probes = [1, 2, 255, 256, 257, 511, 512, 600, new.size - 1, new.size];
    for seq in probes {
        for cp in [&old, &new].into_iter().filter(|cp| seq <= cp.size) {
            let (status, p) = inclusion(&app, seq, cp.size).await;
            assert_eq!(status, StatusCode::OK, "{p}");
            assert_eq!(hash(&p["root"]), cp.root);
            assert!(
                proves(&p, seq, cp.size, &cp.root),
                "seq {seq} in {}",
                cp.size
            );
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
    merkle::verify_consistency(
        old.size,
        new.size,
        &old.root,
        &new.root,
        &hashes(&p["proof"]),
    )
    .expect("consistency verifies");

    // Without the tiles (an upgrade, or rows lost) the same proofs come
    // from the events.
    exec(&app, "DELETE FROM audit_tiles").await;
    let (status, p) = inclusion(&app, 600, new.size).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert!(proves(&p, 600, new.size, &new.root));

    // The next signing reads the whole log again and restores them.
    append_batch(&app, 1).await;
    let grown = open(&take_checkpoint(&app).await, &key);
    assert_eq!(tiles(&app).await.len() as u64, grown.size / 256);

    // A tile root forged in the database: the root no longer matches the
    // checkpoint signed at that size, so no proof is served there.
    exec(
        &app,
        "UPDATE audit_tiles SET root = (SELECT root FROM audit_tiles WHERE idx = 1) WHERE idx = 0",
    )
    .await;
    let (status, p) = inclusion(&app, 600, new.size).await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("checkpoint signed at size {}", new.size)),
        "{p}"
    );
    // At a size nobody signed, the forged tile and the intact events still
    // fail to make one tree: 409, never a proof (nor a 500).
    let (status, p) = app
        .get(
            &app.reviewer_token,
            "/v1/audit/proof/consistency?from=100&to=700",
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    let (status, p) = inclusion(&app, 100, 700).await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    app.shutdown().await;
}
on_both_engines!(
    proofs_over_tiles_match_the_signed_checkpoints,
    proofs_over_tiles_match_the_signed_checkpoints
);

async fn an_event_edited_under_a_stored_tile_gets_no_proof(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let key = public_key(&app).await;
    append_batch(&app, 300).await;
    let cp = open(&take_checkpoint(&app).await, &key);
    assert_eq!(tiles(&app).await.len(), 1);

    exec(
        &app,
        "UPDATE audit_events SET actor = 'test:forged' WHERE seq = 100",
    )
    .await;
    // Its own proof is refused, at the checkpoint's size and at any other.
    for size in [cp.size, cp.size - 1] {
        let (status, p) = inclusion(&app, 100, size).await;
        assert_eq!(status, StatusCode::CONFLICT, "{p}");
        assert!(p["detail"].as_str().unwrap().contains("event 100"), "{p}");
    }
    // Its neighbours in the same tile read it, and are refused too.
    let (status, p) = inclusion(&app, 101, cp.size).await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    // An event outside that tile is still proved against the signed root:
    // the tile root kept from before the edit stands for the original.
    let (status, p) = inclusion(&app, 290, cp.size).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert!(proves(&p, 290, cp.size, &cp.root));
    app.shutdown().await;
}
on_both_engines!(
    an_event_edited_under_a_stored_tile_gets_no_proof,
    an_event_edited_under_a_stored_tile_gets_no_proof
);

/// After an upgrade there are no tiles: the checkpointer's first pass
/// stores them although no checkpoint is due yet, and signs nothing.
async fn the_first_pass_stores_tiles_before_any_checkpoint_is_due(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    append_batch(&app, 600).await;
    exec(&app, "DELETE FROM audit_tiles").await;
    let checkpoints = || {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_checkpoints")
            .fetch_one(app.state().store.reader())
    };
    let before = checkpoints().await.unwrap();
    let state = std::sync::Arc::clone(&app.server.as_ref().unwrap().state);
    let mut signer = pingate::service::checkpointer::Checkpointer::new(state);
    assert!(signer.tick().await.unwrap().is_none(), "nothing is due");
    assert_eq!(checkpoints().await.unwrap(), before);
    let head = pingate::store::checkpoints::head_seq(app.state().store.reader())
        .await
        .unwrap();
    assert_eq!(tiles(&app).await.len() as u64, head / 256);
    assert!(head / 256 >= 2);
    app.shutdown().await;
}
on_both_engines!(
    the_first_pass_stores_tiles_before_any_checkpoint_is_due,
    the_first_pass_stores_tiles_before_any_checkpoint_is_due
);

/// An event past the last whole tile rewritten with its hash recomputed
/// (content and hash agree): the next event no longer links to it, so even
/// at a size nobody signed its proof is refused.
async fn a_rehashed_event_at_the_edge_of_a_run_gets_no_proof(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    append_batch(&app, 300).await;
    let head = pingate::store::checkpoints::head_seq(app.state().store.reader())
        .await
        .unwrap();
    let seq = head - 10;
    let filter = pingate::store::audit::AuditFilter {
        after_seq: Some(seq as i64 - 1),
        ..Default::default()
    };
    let mut e = pingate::store::audit::list(app.state().store.reader(), &filter, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(e.seq as u64, seq);
    let (status, _) = inclusion(&app, seq, seq).await;
    assert_eq!(status, StatusCode::OK, "intact, it is proved");

    e.actor = "test:forged".into();
    e.hash = e.compute_hash();
    sqlx::query("UPDATE audit_events SET actor = $1, hash = $2 WHERE seq = $3")
        .bind(&e.actor)
        .bind(e.hash.to_vec())
        .bind(e.seq)
        .execute(app.state().store.reader())
        .await
        .unwrap();
    let (status, p) = inclusion(&app, seq, seq).await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("event {}", seq + 1)),
        "{p}"
    );
    app.shutdown().await;
}
on_both_engines!(
    a_rehashed_event_at_the_edge_of_a_run_gets_no_proof,
    a_rehashed_event_at_the_edge_of_a_run_gets_no_proof
);
