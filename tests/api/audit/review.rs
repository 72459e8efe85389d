//! What a reviewer reads of real flows: events listed and filtered,
//! exports streamed and verified offline, an untouched log verifying
//! online and with the CLI.

use super::*;

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
