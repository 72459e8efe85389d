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
