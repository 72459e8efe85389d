//! Commands that only read refuse when what they would read does not
//! exist, say where they looked, and create nothing.

use super::Workspace;

const READ_ONLY: &[&[&str]] = &[
    &["audit", "public-key"],
    &["audit", "verify"],
    &["audit", "export"],
    &["org", "list"],
    &["lockout", "list"],
    &["migrate", "--check"],
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
    let run = ws.run(&["migrate", "--check"]).refused();
    assert!(run.stderr.contains("pending"), "{}", run.stderr);
    assert!(run.stderr.contains("pingate migrate"), "{}", run.stderr);
    let again = ws.run(&["migrate", "--check"]).refused();
    assert_eq!(run.stderr, again.stderr, "--check changed the database");
    ws.run(&["migrate"]).ok();
    ws.run(&["migrate", "--check"]).ok();
}
