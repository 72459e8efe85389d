//! Concurrent workers: several instances on one PostgreSQL database, and a
//! worker that lost its lease.

use std::sync::Arc;
use std::time::Duration;

use pingate::config::HumanDuration;
use sqlx::Connection;
use tokio::sync::Barrier;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

use super::{WAIT, eventually, options};

/// Several instances on one PostgreSQL database: two more instances (each
/// with its own state and connection pool), two claim loops each, released
/// together behind a barrier onto 40 messages queued in one transaction,
/// while another transaction of the test holds the row locks of 20 of them
/// (as a worker does between its claim and its commit). The contested path
/// must run: the loops skip the locked rows instead of waiting for them or
/// taking them, and claim exactly the 20 others. Once the test lets go, the
/// app's own worker takes the rest; each message reaches SMTP once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pingate_test_postgres),
    ignore = "PostgreSQL only: set PINGATE_TEST_DATABASE_URL to run it"
)]
async fn two_workers_on_postgres_never_send_one_message_twice() {
    const N: usize = 40;
    const LOCKED: usize = 20;
    const LOOPS_PER_INSTANCE: usize = 2;
    let test = "two_workers_on_postgres_never_send_one_message_twice";
    // The app's own worker waits to be woken: only the loops below claim
    // until the test lets go of its rows.
    let opts = options(|s| s.delivery.poll_interval = HumanDuration(Duration::from_secs(3600)));
    let Some(app) = TestApp::spawn_with(Engine::Postgres, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let clock: Arc<dyn pingate::clock::Clock> = Arc::new(app.clock.clone());
    let state = app.state();
    let mut subjects = enqueue_plain(state, "outbox race", N).await;

    // Another transaction holds the row locks of the first LOCKED messages.
    let mut holder = sqlx::PgConnection::connect(app.settings.database.url.expose())
        .await
        .expect("connect");
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    let locked: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM messages WHERE kind = 'lockout_notice' ORDER BY id LIMIT $1 FOR UPDATE",
    )
    .bind(LOCKED as i64)
    .fetch_all(&mut holder)
    .await
    .expect("lock rows");
    assert_eq!(locked.len(), LOCKED);

    let mut instances = Vec::new();
    for _ in 0..2 {
        let state = pingate::app::AppState::build(app.settings.clone(), Arc::clone(&clock), None)
            .await
            .expect("a second instance on the same database");
        instances.push(state);
    }
    let barrier = Arc::new(Barrier::new(instances.len() * LOOPS_PER_INSTANCE + 1));
    let mut tasks = Vec::new();
    for state in &instances {
        for _ in 0..LOOPS_PER_INSTANCE {
            let w = worker_with(state, Arc::clone(&state.senders), 60_000);
            let barrier = Arc::clone(&barrier);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let mut claimed = 0;
                loop {
                    match w.run_once().await.expect("outbox pass") {
                        0 => return claimed,
                        n => claimed += n,
                    }
                }
            }));
        }
    }
    barrier.wait().await;
    let mut by_extra_instances = 0;
    for t in tasks {
        by_extra_instances += tokio::time::timeout(WAIT, t)
            .await
            .expect("a claim loop waited for rows another transaction holds")
            .expect("claim loop");
    }
    assert_eq!(
        by_extra_instances,
        N - LOCKED,
        "the loops claim every unlocked message and no locked one"
    );
    let first = app.smtp.wait_for(N - LOCKED, WAIT).await;
    let mut first_ids: Vec<String> = first
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    first_ids.sort();
    first_ids.dedup();
    assert_eq!(first_ids.len(), N - LOCKED, "each unlocked message once");
    for id in &locked {
        assert!(
            !first_ids.contains(&format!("<{id}@pingate.test>")),
            "a locked message was sent: {id}"
        );
    }

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    state.wake_outbox();
    app.smtp.wait_for(N, WAIT).await;
    let pending = eventually("every message is finished", || async {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, status, attempts FROM messages WHERE kind = 'lockout_notice'",
        )
        .fetch_all(state.store.reader())
        .await
        .map_err(|e| e.to_string())?;
        if rows.len() == N && rows.iter().all(|(_, s, _)| s == "sent") {
            Ok(rows)
        } else {
            Err(format!("{rows:?}"))
        }
    })
    .await;
    assert!(
        pending.iter().all(|(_, _, a)| *a == 1),
        "each message was claimed once: {pending:?}"
    );
    let mails = app.smtp.messages();
    let mut got: Vec<String> = mails.iter().map(|m| m.header("Subject").unwrap()).collect();
    got.sort();
    subjects.sort();
    assert_eq!(got, subjects, "each message exactly once");
    // Each mail's Message-ID names its outbox row: every row reached SMTP.
    let mut ids: Vec<String> = mails
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    ids.sort();
    let mut expected: Vec<String> = pending
        .iter()
        .map(|(id, _, _)| format!("<{id}@pingate.test>"))
        .collect();
    expected.sort();
    assert_eq!(ids, expected);

    for s in instances {
        s.store.close().await;
    }
    app.shutdown().await;
}

/// Queues `n` plain messages to contoso's email contact in one
/// transaction, without waking any worker; returns their subjects.
async fn enqueue_plain(state: &pingate::app::AppState, tag: &str, n: usize) -> Vec<String> {
    enqueue_plain_at(state, tag, n, state.clock.now_ms()).await
}

/// Queues `n` plain messages falling due at `at`.
async fn enqueue_plain_at(
    state: &pingate::app::AppState,
    tag: &str,
    n: usize,
    at: i64,
) -> Vec<String> {
    let mut tx = state.store.begin(at).await.unwrap();
    let mut subjects = Vec::new();
    for i in 0..n {
        let subject = format!("{tag} {i:02}");
        pingate::delivery::enqueue(
            &mut tx,
            &state.sealer,
            pingate::delivery::Outgoing {
                kind: pingate::domain::message::MessageKind::LockoutNotice,
                channel: pingate::domain::org::Channel::Email,
                org_id: "contoso",
                call_id: None,
                challenge_id: None,
                grant_id: None,
                destination: "it-admin@contoso.example",
                destination_masked: "i***@contoso.example",
                subject: &subject,
                body: tag,
            },
        )
        .await
        .unwrap();
        subjects.push(subject);
    }
    tx.commit().await.unwrap();
    subjects
}

/// A worker of this process's app state, with its own senders and lease.
fn worker_with(
    state: &pingate::app::AppState,
    senders: Arc<pingate::delivery::Senders>,
    lease_ms: i64,
) -> pingate::delivery::worker::Worker {
    pingate::delivery::worker::Worker {
        store: state.store.clone(),
        clock: Arc::clone(&state.clock),
        sealer: state.sealer.clone(),
        senders,
        wake: Arc::new(tokio::sync::Notify::new()),
        backoff_base_ms: 20,
        backoff_cap_ms: 100,
        max_attempts: 8,
        lease_ms,
        poll: Duration::from_millis(10),
        on_pin_failed: None,
    }
}

/// A TCP front for `upstream` that holds its first connection until
/// released and then drops it (a relay that hangs, then resets), and
/// passes every later connection through.
async fn hanging_first_connection(
    upstream: u16,
) -> (
    u16,
    tokio::sync::oneshot::Receiver<()>,
    Arc<tokio::sync::Notify>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, accepted_rx) = tokio::sync::oneshot::channel();
    let release = Arc::new(tokio::sync::Notify::new());
    let held = Arc::clone(&release);
    tokio::spawn(async move {
        let (first, _) = listener.accept().await.unwrap();
        let _ = accepted.send(());
        tokio::spawn(async move {
            held.notified().await;
            drop(first);
        });
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) =
                    tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (port, accepted_rx, release)
}

/// A worker claims a batch under one lease and sends it one message after
/// another. When a slow send outlasts the lease, another instance claims
/// the rest and sends it; the first worker must then neither send those
/// messages again nor record an outcome for messages it no longer holds.
async fn a_worker_that_lost_its_lease_sends_nothing_more(engine: Engine, test: &str) {
    // The app's own worker stays idle: only the two workers below run.
    let opts = options(|s| s.delivery.poll_interval = HumanDuration(Duration::from_secs(3600)));
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let state = app.state();

    let (port, accepted, release) = hanging_first_connection(app.smtp.port()).await;
    let mut slow = app.settings.clone();
    slow.email.smtp_url = Some(pingate::config::Secret::from(
        format!("smtp://127.0.0.1:{port}").as_str(),
    ));
    let slow_senders = pingate::delivery::Senders {
        email: pingate::delivery::email::EmailSender::from_settings(
            &slow.email,
            &slow.email_file_dir(),
        )
        .unwrap(),
        sms: pingate::delivery::sms::SmsSender::from_settings(&slow).unwrap(),
    };
    let first = worker_with(state, Arc::new(slow_senders), 1_000);
    let second = worker_with(state, Arc::clone(&state.senders), 60_000);

    let subjects = enqueue_plain(state, "lease", 2).await;
    let first = tokio::spawn(async move { first.run_once().await.expect("first worker") });
    tokio::time::timeout(WAIT, accepted)
        .await
        .expect("the first send starts")
        .unwrap();
    // The first worker holds both messages and hangs on the first send;
    // its lease runs out and the second worker takes both.
    app.clock.advance(Duration::from_secs(5));
    assert_eq!(second.run_once().await.unwrap(), 2);
    assert_eq!(app.smtp.wait_for(2, WAIT).await.len(), 2);
    release.notify_one();
    assert_eq!(first.await.unwrap(), 2);

    let mut got: Vec<String> = app
        .smtp
        .messages()
        .iter()
        .map(|m| m.header("Subject").unwrap())
        .collect();
    got.sort();
    assert_eq!(got, subjects, "each message once");
    let rows: Vec<(String, i64, Option<String>)> = sqlx::query_as(
        "SELECT status, attempts, last_error FROM messages WHERE kind = 'lockout_notice'",
    )
    .fetch_all(state.store.reader())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    for (status, attempts, error) in &rows {
        assert_eq!(
            (status.as_str(), *attempts, error.as_deref()),
            ("sent", 2, None),
            "{rows:?}"
        );
    }
    assert!(
        app.events("message_retry").await.is_empty(),
        "no outcome from a lost lease"
    );
    assert_eq!(app.events("message_sent").await.len(), 2);
    app.shutdown().await;
}
on_both_engines!(
    a_worker_that_lost_its_lease_sends_nothing_more,
    a_worker_that_lost_its_lease_sends_nothing_more
);

/// A claimed batch is sent in the order its messages fell due (a PIN queued
/// after a notice goes after it), whatever order the database hands the
/// updated rows back in.
async fn a_claimed_batch_comes_in_due_order(engine: Engine, test: &str) {
    const HOUR: i64 = 3_600_000;
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    let state = app.state();
    let now = state.clock.now_ms();
    // Queued latest-due first, and all after the app's own worker's "now".
    let mut queued = Vec::new();
    for h in (1..=6).rev() {
        queued.extend(enqueue_plain_at(state, &format!("due in {h}h"), 1, now + h * HOUR).await);
    }
    let mut tx = state.store.begin(now).await.unwrap();
    let backend = tx.backend();
    let batch = pingate::store::messages::claim_due(tx.conn(), backend, now + 7 * HOUR, 60_000, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let claimed: Vec<&str> = batch.iter().map(|m| m.subject.as_str()).collect();
    queued.reverse();
    assert_eq!(claimed, queued);
    app.shutdown().await;
}
on_both_engines!(
    a_claimed_batch_comes_in_due_order,
    a_claimed_batch_comes_in_due_order
);
