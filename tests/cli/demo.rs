//! `pingate demo` behaves as a Unix tool: a closed pipe ends it quietly,
//! its temporary directory goes on every exit (Ctrl-C included), and it
//! uses the configured PIN rules and says where they came from.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use super::{Run, Workspace};

/// Files left in the workspace's private temp directory.
fn leftovers(ws: &Workspace) -> Vec<String> {
    std::fs::read_dir(ws.path("tmp"))
        .expect("tmp dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

fn tmp_env(ws: &Workspace) -> String {
    std::fs::create_dir_all(ws.path("tmp")).expect("mkdir tmp");
    ws.path("tmp").display().to_string()
}

#[test]
fn demo_into_a_closed_pipe_exits_quietly_and_removes_its_directory() {
    let ws = Workspace::new();
    let tmp = tmp_env(&ws);
    let mut child = ws
        .command(&["demo"], &[("TMPDIR", &tmp)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn demo");
    // `| head -3`: read three lines, then close the pipe.
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).expect("read");
    }
    drop(out);
    let output = child.wait_with_output().expect("wait");
    let run = Run {
        what: "pingate demo | head -3".into(),
        status: output.status,
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let run = run.ok();
    assert!(!run.stderr.contains("Broken pipe"), "{}", run.stderr);
    assert!(!run.stderr.contains("error"), "{}", run.stderr);
    assert_eq!(leftovers(&ws), Vec::<String>::new());
}

/// Interrupts the demo with SIGINT once it has printed the line starting
/// with `at`, and checks that it stops as interrupted and leaves nothing.
fn interrupt_demo_at(at: &str) {
    let ws = Workspace::new();
    let tmp = tmp_env(&ws);
    let mut child = ws
        .command(&["demo"], &[("TMPDIR", &tmp)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn demo");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        let n = out.read_line(&mut line).expect("read");
        assert!(n > 0, "the demo ended before {at:?}: {seen:?}");
        let reached = line.starts_with(at);
        seen.push(line);
        if reached {
            break;
        }
    }
    assert_eq!(leftovers(&ws).len(), 1, "the demo's directory exists");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let rest: Vec<String> = out.lines().map_while(Result::ok).collect();
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "interrupted at {at:?}, not finished: {rest:?}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        leftovers(&ws),
        Vec::<String>::new(),
        "interrupted at {at:?}"
    );
}

#[test]
fn demo_interrupted_with_ctrl_c_removes_its_directory() {
    // While the server starts, while webhooks are answered, and while the
    // delivery worker writes the SMS: the server's tasks must be stopped
    // before the directory goes. Each point has the wait for the SMS file
    // still ahead of it, so the demo cannot finish before the signal lands.
    for at in [
        "pingate demo:",
        "== Twilio posts",
        "== The agent sends a PIN",
    ] {
        interrupt_demo_at(at);
    }
}

#[test]
fn demo_uses_the_configured_pin_length_and_names_the_file() {
    let ws = Workspace::new();
    let tmp = tmp_env(&ws);
    ws.write("eight.toml", "[pin]\nlength = 8\n");
    let run = ws
        .run_env(&["--config", "eight.toml", "demo"], &[("TMPDIR", &tmp)])
        .ok();
    assert!(
        run.stdout
            .contains("PIN and grant settings from eight.toml (pin.length 8"),
        "{}",
        run.stdout
    );
    let code = run
        .stdout
        .lines()
        .find_map(|l| l.split("the caller reads the code: ").nth(1))
        .expect("the code is shown")
        .trim_end_matches(')')
        .to_string();
    assert_eq!(code.len(), 8, "{code}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert!(
        run.stdout.contains("\"status\": \"approved\""),
        "{}",
        run.stdout
    );
    assert_eq!(leftovers(&ws), Vec::<String>::new());
}
