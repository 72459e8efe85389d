//! Reliable delivery, tried as an operator would break it: SMTP down and
//! back, a Messages API answering 500 and 429 before 201, permanent and
//! exhausted failures, fallback to the other registered channel, duplicate
//! and out-of-order status callbacks, resends, grant notices, two workers
//! racing on one PostgreSQL database, and the metrics.
//!
//! Waiting is on observable state only: the SMTP server and the Messages
//! API wake on arrival, and the delivery status is polled (bounded) through
//! the public API, because the worker commits its outcome after the send.

mod fallback;
mod metrics;
mod notices;
mod provider_errors;
mod reports;
mod resends;
mod retries;
mod workers;

use std::future::Future;
use std::time::Duration;

use pingate::config::{HumanDuration, Settings};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::app::{Options, TestApp};

const WAIT: Duration = Duration::from_secs(20);

/// Retries within milliseconds, so a test sees several attempts quickly.
fn fast(s: &mut Settings) {
    s.delivery.backoff_base = HumanDuration(Duration::from_millis(20));
    s.delivery.backoff_cap = HumanDuration(Duration::from_millis(100));
    s.delivery.poll_interval = HumanDuration(Duration::from_millis(20));
}

fn options(tweak: impl FnOnce(&mut Settings) + Send + 'static) -> Options {
    Options {
        tweak: Box::new(move |s| {
            fast(s);
            tweak(s);
        }),
        ..Options::default()
    }
}

/// Polls `probe` until it yields a value, at most `WAIT`. The worker
/// records an outcome in its own transaction after the provider answered,
/// so a delivery status can only be observed, not awaited.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if tokio::time::Instant::now() >= deadline => {
                panic!("{what}: not reached within {WAIT:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// A call of contoso from an unregistered number (a fresh one per call,
/// so per-caller quotas never interfere), org attached by the agent.
async fn contoso_call(app: &TestApp) -> String {
    let from = format!("+1415556{:04}", rand_digits());
    let call_id = app.new_call(&from, None).await;
    let (status, r) = app.set_org(&call_id, "contoso").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    call_id
}

fn rand_digits() -> u16 {
    (uuid::Uuid::new_v4().as_u128() % 10_000) as u16
}

async fn check(app: &TestApp, challenge_id: &str, pin: &str) -> Value {
    let (status, r) = app.check(challenge_id, pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

/// The PIN deliveries of a challenge as the agent sees them on the call.
async fn deliveries(app: &TestApp, call_id: &str, challenge_id: &str) -> Vec<Value> {
    let (status, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    call["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["challenge_id"] == challenge_id)
        .map(|c| c["delivery"].as_array().unwrap().clone())
        .unwrap_or_default()
}

/// Waits until the challenge's `index`-th PIN message reaches `status`.
pub(crate) async fn delivery_reaches(
    app: &TestApp,
    call_id: &str,
    challenge_id: &str,
    index: usize,
    status: &str,
) -> Value {
    eventually(
        &format!("delivery {index} of {challenge_id} becomes {status}"),
        || async {
            let d = deliveries(app, call_id, challenge_id).await;
            match d.get(index) {
                Some(m) if m["status"] == status => Ok(m.clone()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

async fn events_for(app: &TestApp, kind: &str, challenge_id: &str) -> Vec<Value> {
    app.events(kind)
        .await
        .into_iter()
        .filter(|e| e["challenge_id"] == challenge_id)
        .collect()
}
