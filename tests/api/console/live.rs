//! Live updates across instances: a call received by one instance reaches
//! a console streaming from another, through the shared database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::COOKIE;

use super::client::Console;
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, call_sid};

/// Another pingate instance on the same database (and clock and keys).
pub struct Instance {
    pub base: String,
    server: pingate::RunningServer,
}

impl Instance {
    pub async fn stop(self) {
        self.server.shutdown().await.expect("second instance stops");
    }
}

pub async fn second_instance(app: &TestApp) -> Instance {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut s = app.settings.clone();
    s.server.listen = format!("127.0.0.1:{port}");
    let server = pingate::start(s, Arc::new(app.clock.clone()), listener)
        .await
        .expect("second instance starts");
    Instance {
        base: format!("http://127.0.0.1:{port}"),
        server,
    }
}

/// Reads an event stream until a `data:` line contains `needle`.
async fn wait_for_data(
    mut resp: reqwest::Response,
    needle: &str,
    within: Duration,
) -> Option<Instant> {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if seen
            .lines()
            .any(|l| l.starts_with("data:") && l.contains(needle))
        {
            return Some(Instant::now());
        }
    }
    None
}

async fn a_call_received_by_one_instance_appears_on_a_console_of_another(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let other = second_instance(&app).await;
    let console = Console::sign_in_at(&other.base, &app.agent_token).await;
    let stream = reqwest::Client::new()
        .get(format!("{}/console/calls/live", other.base))
        .header(COOKIE, &console.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let sid = call_sid();
    let from = "+14155550177";
    let sent = Instant::now();
    let waiter =
        tokio::spawn(async move { wait_for_data(stream, from, Duration::from_secs(15)).await });
    app.call(&sid, from, None).await;
    let answered = Instant::now();
    let arrived = waiter
        .await
        .unwrap()
        .expect("the new call reached the other instance's stream");
    // Printed, not asserted: a figure for docs/console.md, never a timed test.
    eprintln!(
        "live update across instances ({engine:?}): {} ms after the webhook was sent, {} ms after it was answered",
        (arrived - sent).as_millis(),
        arrived.saturating_duration_since(answered).as_millis()
    );
    other.stop().await;
    app.shutdown().await;
}
on_both_engines!(
    live_across_instances,
    a_call_received_by_one_instance_appears_on_a_console_of_another
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_page_stream_shows_the_end_of_the_call() {
    let app = TestApp::spawn(Engine::Sqlite, "call page stream")
        .await
        .unwrap();
    let sid = call_sid();
    app.call(&sid, "+14155550123", None).await;
    let call_id = app.call_id_for(&sid).await;
    let console = Console::sign_in(&app, &app.agent_token).await;
    let stream = reqwest::Client::new()
        .get(app.url(&format!("/console/calls/{call_id}/live")))
        .header(COOKIE, &console.cookie)
        .send()
        .await
        .unwrap();
    let waiter = tokio::spawn(async move {
        wait_for_data(stream, "The call ended", Duration::from_secs(15)).await
    });
    let resp = app
        .webhook(
            "/webhooks/twilio/status",
            &[
                ("CallSid", sid.as_str()),
                ("AccountSid", crate::support::app::ACCOUNT_SID),
                ("CallStatus", "completed"),
            ],
        )
        .await;
    assert!(resp.status().is_success());
    assert!(
        waiter.await.unwrap().is_some(),
        "the end reached the page's stream"
    );
    app.shutdown().await;
}
