//! `audit verify` and `audit export` after CLI actions.

use super::{CONTOSO, Workspace, free_port};

#[test]
fn audit_verify_and_export_after_cli_actions() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    ws.write("orgs.toml", CONTOSO);
    ws.run(&["--config", "pingate.toml", "migrate"]).ok();
    ws.run(&[
        "--config",
        "pingate.toml",
        "agent",
        "add",
        "alice",
        "--role",
        "agent",
    ])
    .ok();
    ws.run(&[
        "--config",
        "pingate.toml",
        "agent",
        "add",
        "rita",
        "--role",
        "reviewer",
    ])
    .ok();
    ws.run(&["--config", "pingate.toml", "org", "import", "orgs.toml"])
        .ok();

    let run = ws
        .run(&["--config", "pingate.toml", "audit", "verify"])
        .ok();
    assert!(
        run.stdout.starts_with("ok: 3 events verified"),
        "{}",
        run.stdout
    );

    let run = ws
        .run(&["--config", "pingate.toml", "audit", "export"])
        .ok();
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        vec!["principal_created", "principal_created", "org_created"]
    );
    assert_eq!(events[0]["seq"], 1);
    ws.write("audit.jsonl", &run.stdout);
    let run = ws
        .run(&[
            "--config",
            "pingate.toml",
            "audit",
            "verify",
            "--export",
            "audit.jsonl",
        ])
        .ok();
    assert!(
        run.stdout.starts_with("ok: 3 events verified"),
        "{}",
        run.stdout
    );

    let run = ws
        .run(&[
            "--config",
            "pingate.toml",
            "audit",
            "export",
            "--format",
            "csv",
        ])
        .ok();
    assert!(run.stdout.starts_with("seq,at,kind,"), "{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
}

/// `pingate audit export | head`: the reader goes away and the export ends
/// quietly (no `error: cannot write: Broken pipe`, exit 0).
#[test]
fn audit_export_into_a_closed_pipe_ends_quietly() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    for name in ["alice", "bob", "carol"] {
        ws.run(&[
            "--config",
            "pingate.toml",
            "agent",
            "add",
            name,
            "--role",
            "agent",
        ])
        .ok();
    }
    for format in ["jsonl", "csv"] {
        let mut child = ws
            .command(
                &[
                    "--config",
                    "pingate.toml",
                    "audit",
                    "export",
                    "--format",
                    format,
                ],
                &[],
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn export");
        // Closed before the first line: every write finds no reader.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let run = super::Run {
            what: format!("pingate audit export --format {format} | head"),
            status: out.status,
            stdout: String::new(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
        .ok();
        assert_eq!(run.stderr, "", "nothing on stderr");
    }
}
