//! A request still running when the shutdown grace period ends is answered
//! 503 (problem+json) and logged as cut short, with its request id.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::app::{Engine, TestApp};
use crate::support::logs;

fn captured_text() -> String {
    String::from_utf8_lossy(&logs::captured()).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cut_short_by_shutdown_is_answered_and_logged() {
    let mut app = TestApp::spawn(Engine::Sqlite, "a_request_cut_short_by_shutdown")
        .await
        .expect("sqlite");
    assert!(logs::is_capturing(), "the log capture must be installed");
    let request_id = format!("cut-{}", uuid::Uuid::new_v4().simple());
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    // Headers and part of the body: the handler waits for the rest.
    let head = format!(
        "POST /v1/orgs HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\nx-request-id: {request_id}\r\n\r\n{{\"id\":",
        app.admin_token
    );
    conn.write_all(head.as_bytes()).await.expect("send");
    // In flight once the server has logged anything under its request id.
    let mut seen = false;
    for _ in 0..2_000 {
        if captured_text().contains(&request_id) {
            seen = true;
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(seen, "the request never reached the server");

    let server = app.server.take().expect("running");
    server
        .shutdown_within(Duration::from_millis(200))
        .await
        .expect("shutdown");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.contains("urn:pingate:problem:shutting-down"),
        "{answer}"
    );

    let cut: Vec<String> = captured_text()
        .lines()
        .filter(|l| l.contains("request cut short") && l.contains(&request_id))
        .map(str::to_string)
        .collect();
    assert_eq!(
        cut.len(),
        1,
        "one line says the request was cut short: {cut:?}"
    );
    assert!(cut[0].contains("\"method\":\"POST\""), "{}", cut[0]);
    app.shutdown().await;
}
