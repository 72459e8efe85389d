//! What `pingate serve` writes to its log: its setup and warnings at start,
//! one line per request (route template, never the raw path), JSON on every
//! line when asked for, and no colour codes into a file.

use serde_json::Value;

use super::{Workspace, free_port};

#[tokio::test]
async fn serve_logs_its_setup_and_warnings_at_start_without_colours() {
    let ws = Workspace::new();
    let port = free_port();
    let cfg = ws.config("pingate.toml", port);
    // The human format, where colour codes would show.
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str("\n[log]\nformat = \"pretty\"\n");
    std::fs::write(&cfg, text).expect("write config");
    let server = ws
        .serve(&["--config", "pingate.toml", "serve"], &[], port)
        .await;
    let status = server_stop(server).await;
    let log = std::fs::read_to_string(ws.path("serve.log")).expect("log");
    assert!(status.success(), "{log}");
    for needle in [
        "configuration",
        "pingate.toml",
        "sqlite://data/pingate.db",
        &format!("127.0.0.1:{port}"),
        &format!("http://127.0.0.1:{port}"),
        "email transport",
        "sms transport",
        "twilio (no account_sid, no auth_token)",
        "Twilio webhooks answer 503",
        "PINs are written to disk in clear",
        "security.pepper is not set: a new one is generated",
        "no audit signing key: a new one is generated",
    ] {
        assert!(log.contains(needle), "{needle:?} missing from:\n{log}");
    }
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a log file:\n{log}"
    );
}

async fn server_stop(server: super::Server) -> std::process::ExitStatus {
    server.terminate().await
}

fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
        .collect()
}

#[tokio::test]
async fn json_logs_are_json_on_every_line_with_one_line_per_request() {
    let ws = Workspace::new();
    let port = free_port();
    let cfg = ws.config("pingate.toml", port);
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str("\n[log]\nformat = \"json\"\n");
    std::fs::write(&cfg, text).expect("write config");
    let token = ws
        .run(&[
            "--config",
            "pingate.toml",
            "agent",
            "add",
            "alice",
            "--role",
            "agent",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    let server = ws
        .serve(&["--config", "pingate.toml", "serve"], &[], port)
        .await;
    let client = reqwest::Client::new();
    let number_path = format!("{}/v1/calls/+14155550123?pin=493817", server.base);
    let resp = client
        .get(&number_path)
        .bearer_auth(&token)
        .header("x-request-id", "req-logtest-1")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);
    // A second instance on the same port fails; its error is JSON too.
    let clash = ws.run(&["--config", "pingate.toml", "serve"]);
    assert_eq!(clash.status.code(), Some(1), "{}", clash.stderr);
    let clash_lines = json_lines(&clash.stderr);
    let last = clash_lines.last().expect("a line");
    assert_eq!(last["level"], "ERROR", "{last}");
    assert!(
        last["error"]
            .as_str()
            .unwrap_or("")
            .contains("cannot listen"),
        "{last}"
    );

    let status = server.terminate().await;
    let log = std::fs::read_to_string(ws.path("serve.log")).expect("log");
    assert!(status.success(), "{log}");
    let lines = json_lines(&log);
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "request" && l["request_id"] == "req-logtest-1")
        .collect();
    assert_eq!(requests.len(), 1, "one line for the request:\n{log}");
    let r = requests[0];
    assert_eq!(r["level"], "INFO");
    assert_eq!(r["method"], "GET");
    assert_eq!(r["route"], "/v1/calls/{call_id}");
    assert_eq!(r["status"], 404);
    assert!(r["latency_ms"].is_u64(), "{r}");
    for secret in ["14155550123", "493817", token.as_str()] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}
