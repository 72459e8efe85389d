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
