//! Commands that only read refuse when what they would read does not
//! exist, say where they looked, and create nothing.

use super::Workspace;

const READ_ONLY: &[&[&str]] = &[
    &["audit", "public-key"],
    &["audit", "verify"],
    &["audit", "export"],
    &["org", "list"],
    &["lockout", "list"],
];

#[test]
fn read_only_commands_in_an_empty_directory_refuse_and_create_nothing() {
    let ws = Workspace::new();
    for args in READ_ONLY {
        let run = ws.run(args).refused();
        assert!(
            run.stderr.contains("data/pingate.db") || run.stderr.contains("data/audit-signing.key"),
            "`{}` should say where it looked:\n{}",
            run.what,
            run.stderr
        );
        assert!(run.stderr.contains("nothing was created"), "{}", run.stderr);
        assert!(
            run.stdout.is_empty(),
            "`{}` printed:\n{}",
            run.what,
            run.stdout
        );
        assert!(!ws.path("data").exists(), "`{}` created data/", run.what);
    }
}

/// `migrate --check` in an empty directory: exit 1, where it looked,
/// nothing created.
#[test]
fn migrate_check_without_a_database_refuses_and_creates_nothing() {
    let ws = Workspace::new();
    let run = ws.run(&["migrate", "--check"]).refused();
    assert!(run.stderr.contains("data/pingate.db"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was created"), "{}", run.stderr);
    assert!(!ws.path("data").exists(), "created data/");
}

#[test]
fn read_only_commands_work_once_the_deployment_exists() {
    let ws = Workspace::new();
    ws.config("pingate.toml", super::free_port());
    ws.run(&[
        "--config",
        "pingate.toml",
        "agent",
        "add",
        "adam",
        "--role",
        "admin",
    ])
    .ok();
    for args in READ_ONLY {
        let mut args = args.to_vec();
        args.extend(["--config", "pingate.toml"]);
        ws.run(&args).ok();
    }
    let run = ws
        .run(&["--config", "pingate.toml", "migrate", "--check"])
        .ok();
    assert!(run.stdout.contains("up to date"), "{}", run.stdout);
}

#[test]
fn migrate_check_names_pending_migrations_without_applying_them() {
    let ws = Workspace::new();
    // A database file that exists but was never migrated.
    ws.write("data/pingate.db", "");
    // Exit status 2 means "migrations pending" (1 is any other failure).
    let run = ws.run(&["migrate", "--check"]);
    assert_eq!(run.status.code(), Some(2), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("pending"), "{}", run.stdout);
    assert!(run.stdout.contains("pingate migrate"), "{}", run.stdout);
    let again = ws.run(&["migrate", "--check"]);
    assert_eq!(run.stdout, again.stdout, "--check changed the database");
    ws.run(&["migrate"]).ok();
    ws.run(&["migrate", "--check"]).ok();
}

/// Runs `args` with stdout a pipe whose reader is already gone.
fn into_a_closed_pipe(ws: &Workspace, args: &[&str]) -> super::Run {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = ws
        .command(args, &[])
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run");
    super::Run {
        what: format!("pingate {} > closed pipe", args.join(" ")),
        status: output.status,
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `pingate audit verify | head -0` and friends: a reader that went away
/// ends the command quietly, as with `demo` and `audit export`.
#[test]
fn reports_into_a_closed_pipe_end_quietly() {
    let ws = Workspace::new();
    ws.config("pingate.toml", super::free_port());
    let setup = [
        "--config",
        "pingate.toml",
        "agent",
        "add",
        "adam",
        "--role",
        "admin",
    ];
    ws.run(&setup).ok();
    let reports: &[&[&str]] = &[
        &["config", "check"],
        &["audit", "public-key"],
        &["audit", "verify"],
        &["migrate", "--check"],
        &["retention", "run", "--dry-run"],
        &["backup", "copy.db"],
    ];
    for args in reports {
        let mut args = args.to_vec();
        args.extend(["--config", "pingate.toml"]);
        let run = into_a_closed_pipe(&ws, &args).ok();
        assert_eq!(run.stderr, "", "`{}` complained", run.what);
    }
}
