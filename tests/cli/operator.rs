//! The smaller answers an operator meets: who the audit says acted, empty
//! lists that say so, unknown orgs refused, `--help` that explains itself.

use super::{CONTOSO, Workspace, free_port};

#[test]
fn the_audit_actor_is_the_os_user_when_user_is_unset() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    let out = ws
        .command(
            &[
                "--config",
                "pingate.toml",
                "agent",
                "add",
                "alice",
                "--role",
                "agent",
            ],
            &[],
        )
        .env_remove("USER")
        .env_remove("LOGNAME")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id -un");
    let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
    assert!(!me.is_empty());
    let export = ws
        .run(&["--config", "pingate.toml", "audit", "export"])
        .ok();
    let created: serde_json::Value =
        serde_json::from_str(export.stdout.lines().next().expect("an event")).expect("JSON");
    assert_eq!(created["kind"], "principal_created");
    assert_eq!(created["actor"], format!("cli:{me}"));
}

#[test]
fn lockout_list_says_when_there_are_none_and_reset_refuses_an_unknown_org() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    ws.write("orgs.toml", CONTOSO);
    ws.run(&["--config", "pingate.toml", "org", "import", "orgs.toml"])
        .ok();
    let list = ws
        .run(&["--config", "pingate.toml", "lockout", "list"])
        .ok();
    assert_eq!(list.stdout, "");
    assert!(
        list.stderr.contains("no lockouts in force"),
        "{}",
        list.stderr
    );

    let unknown = ws
        .run(&[
            "--config",
            "pingate.toml",
            "lockout",
            "reset",
            "--org",
            "nosuch",
        ])
        .refused();
    assert!(unknown.stderr.contains("nosuch"), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("org list"), "{}", unknown.stderr);
    let known = ws
        .run(&[
            "--config",
            "pingate.toml",
            "lockout",
            "reset",
            "--org",
            "contoso",
        ])
        .ok();
    assert_eq!(known.stdout, "0 lockout(s) reset\n");
}

#[test]
fn help_describes_every_argument() {
    let ws = Workspace::new();
    // Whitespace folded: clap aligns columns per command.
    let help = |args: &[&str]| {
        let out = ws.run(args).ok().stdout;
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let import = help(&["org", "import", "--help"]);
    assert!(import.contains("<FILE> A .toml or .json file"), "{import}");
    let add = help(&["agent", "add", "--help"]);
    assert!(add.contains("<NAME> The principal's name"), "{add}");
    assert!(add.contains("What the token may do"), "{add}");
    assert!(add.contains("--expires-in <DURATION>"), "{add}");
    let reset = help(&["lockout", "reset", "--help"]);
    assert!(
        reset.contains("--org <ORG_ID> The org whose lockouts end"),
        "{reset}"
    );
    let rotate = help(&["agent", "rotate", "--help"]);
    assert!(rotate.contains("<NAME> The principal's name"), "{rotate}");
}

#[test]
fn org_override_is_audited_and_refuses_an_unknown_org_or_a_long_one() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    ws.write("orgs.toml", CONTOSO);
    ws.run(&["--config", "pingate.toml", "org", "import", "orgs.toml"])
        .ok();
    let args = |org: &'static str, minutes: &'static str| {
        [
            "--config",
            "pingate.toml",
            "org",
            "override",
            org,
            "--reason",
            "verified by the account manager",
            "--minutes",
            minutes,
        ]
    };
    let unknown = ws.run(&args("nosuch", "15")).refused();
    assert!(unknown.stderr.contains("org list"), "{}", unknown.stderr);
    let long = ws.run(&args("contoso", "100000")).refused();
    assert!(long.stderr.contains("override_max"), "{}", long.stderr);
    let done = ws.run(&args("contoso", "15")).ok();
    assert!(done.stdout.starts_with("ovr_"), "{}", done.stdout);
    assert!(done.stdout.contains("org=contoso"), "{}", done.stdout);
    let export = ws
        .run(&["--config", "pingate.toml", "audit", "export"])
        .ok();
    let granted: Vec<serde_json::Value> = export
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .filter(|e: &serde_json::Value| e["kind"] == "org_override_granted")
        .collect();
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(granted[0]["org_id"], "contoso");
    assert_eq!(
        granted[0]["detail"]["reason"],
        "verified by the account manager"
    );
}
