//! `agent add` prints only the token, and the token works against `serve`.

use reqwest::StatusCode;

use super::{Workspace, free_port};

#[tokio::test]
async fn agent_add_prints_only_the_token_and_it_works_against_serve() {
    let ws = Workspace::new();
    let port = free_port();
    ws.config("pingate.toml", port);
    let run = ws
        .run(&[
            "--config",
            "pingate.toml",
            "agent",
            "add",
            "alice",
            "--role",
            "agent",
        ])
        .ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout must hold the token alone: {:?}",
        run.stdout
    );
    let token = lines[0];
    assert!(token.starts_with("pga_"), "{token}");
    assert!(
        token.len() > 20 && !token.contains(char::is_whitespace),
        "{token:?}"
    );
    assert_eq!(run.stdout, format!("{token}\n"));
    assert!(
        run.stderr.contains("alice"),
        "stderr says what was created: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(token),
        "the token is printed once, on stdout"
    );
    let reviewer = ws
        .run(&[
            "agent",
            "add",
            "rita",
            "--role",
            "reviewer",
            "--config",
            "pingate.toml",
        ])
        .ok();
    let reviewer = reviewer.stdout.trim().to_string();

    let server = ws
        .serve(&["--config", "pingate.toml", "serve"], &[], port)
        .await;
    let client = reqwest::Client::new();
    let calls = format!("{}/v1/calls", server.base);
    let resp = client
        .get(&calls)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client.get(&calls).send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = client
        .get(&calls)
        .bearer_auth(&reviewer)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let status = server.terminate().await;
    assert!(
        status.success(),
        "SIGTERM should end serve gracefully with 0, got {status}"
    );
}

async fn calls_status(base: &str, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/v1/calls"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn agent_rotate_and_disable_take_effect_on_a_running_server_at_once() {
    let ws = Workspace::new();
    let port = free_port();
    ws.config("pingate.toml", port);
    let cfg = ["--config", "pingate.toml"];
    let args = |rest: &[&'static str]| [&cfg[..], rest].concat();
    let first = ws
        .run(&args(&["agent", "add", "alice", "--role", "agent"]))
        .ok();
    let first = first.stdout.trim().to_string();
    let server = ws.serve(&args(&["serve"]), &[], port).await;
    assert_eq!(calls_status(&server.base, &first).await, StatusCode::OK);

    let rotated = ws.run(&args(&["agent", "rotate", "alice"])).ok();
    let lines: Vec<&str> = rotated.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "the new token alone: {:?}", rotated.stdout);
    let second = lines[0].to_string();
    assert!(second.starts_with("pga_") && second != first, "{second}");
    assert!(rotated.stderr.contains("alice"), "{}", rotated.stderr);
    assert!(!rotated.stderr.contains(&second), "shown once, on stdout");
    assert_eq!(
        calls_status(&server.base, &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls_status(&server.base, &second).await, StatusCode::OK);

    let disabled = ws.run(&args(&["agent", "disable", "alice"])).ok();
    assert!(disabled.stdout.is_empty(), "{}", disabled.stdout);
    assert!(
        disabled.stderr.contains("disabled agent alice"),
        "{}",
        disabled.stderr
    );
    assert_eq!(
        calls_status(&server.base, &second).await,
        StatusCode::UNAUTHORIZED
    );
    ws.run(&args(&["agent", "rotate", "alice"])).refused();

    let status = server.terminate().await;
    assert!(status.success(), "{status}");
    let export = ws.run(&args(&["audit", "export"])).ok();
    for kind in [
        "principal_created",
        "principal_rotated",
        "principal_disabled",
    ] {
        assert!(export.stdout.contains(kind), "{kind} not audited");
    }
}

#[test]
fn agent_list_shows_name_role_status_and_expiry_but_never_a_token() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    let cfg = ["--config", "pingate.toml"];
    let args = |rest: &[&'static str]| [&cfg[..], rest].concat();
    let empty = ws.run(&args(&["agent", "list"])).ok();
    assert!(empty.stdout.is_empty(), "{}", empty.stdout);
    assert!(empty.stderr.contains("no principals"), "{}", empty.stderr);
    let token = ws
        .run(&args(&[
            "agent",
            "add",
            "bob",
            "--role",
            "admin",
            "--expires-in",
            "30d",
        ]))
        .ok();
    assert!(token.stderr.contains("expiring 20"), "{}", token.stderr);
    ws.run(&args(&["agent", "add", "rita", "--role", "reviewer"]))
        .ok();
    ws.run(&args(&["agent", "disable", "rita"])).ok();
    let list = ws.run(&args(&["agent", "list"])).ok();
    let rows: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["NAME", "ROLE", "STATUS", "EXPIRES"],
        "{}",
        list.stdout
    );
    assert_eq!(&rows[1][..3], ["bob", "admin", "active"], "{}", list.stdout);
    assert!(rows[1][3].starts_with("20"), "{}", list.stdout);
    assert_eq!(
        rows[2],
        ["rita", "reviewer", "disabled", "never"],
        "{}",
        list.stdout
    );
    assert!(!list.stdout.contains("pga_"), "{}", list.stdout);

    let unknown = ws.run(&args(&["agent", "disable", "nobody"])).refused();
    assert!(unknown.stderr.contains("agent list"), "{}", unknown.stderr);
    let bad = ws.run(&args(&[
        "agent",
        "add",
        "x",
        "--role",
        "agent",
        "--expires-in",
        "soon",
    ]));
    assert_eq!(bad.status.code(), Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("--expires-in"), "{}", bad.stderr);
}
