//! `org import` and `org list`: creates, updates, refuses mistakes by org
//! and field, and imports nothing when any org is wrong.

use super::{CONTOSO, Run, Workspace, free_port};

/// `org import FILE` with the workspace's configuration; its outcome is
/// for the caller to check.
fn org_import(ws: &Workspace, file: &str) -> Run {
    ws.run(&["--config", "pingate.toml", "org", "import", file])
}

/// A configured workspace with contoso imported.
fn workspace_with_contoso() -> Workspace {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    ws.write("orgs.toml", CONTOSO);
    org_import(&ws, "orgs.toml").ok();
    ws
}

fn org_list(ws: &Workspace) -> String {
    ws.run(&["org", "list", "--config", "pingate.toml"])
        .ok()
        .stdout
}

#[test]
fn org_import_creates_then_updates_and_json_works() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    ws.write("orgs.toml", CONTOSO);
    let run = org_import(&ws, "orgs.toml").ok();
    assert!(run.stdout.contains("1 created"), "{}", run.stdout);
    let list = org_list(&ws);
    assert!(
        list.contains("contoso") && list.contains("Contoso Ltd") && list.contains("40012345"),
        "{list}"
    );
    assert!(list.contains("+14155550100"), "{list}");

    ws.write(
        "orgs.toml",
        &CONTOSO
            .replace("Contoso Ltd", "Contoso Group")
            .replace(r#", "+8613800138000""#, ""),
    );
    let run = org_import(&ws, "orgs.toml").ok();
    assert!(run.stdout.contains("1 updated"), "{}", run.stdout);
    let list = org_list(&ws);
    assert!(
        list.contains("Contoso Group") && !list.contains("Contoso Ltd"),
        "{list}"
    );
    assert!(
        !list.contains("+8613800138000"),
        "re-import replaces the numbers: {list}"
    );

    ws.write(
        "more.json",
        r#"{"org": [{
            "id": "fabrikam",
            "name": "Fabrikam Inc",
            "account_number": "50012345",
            "registered_numbers": ["+442071838750"],
            "channels": ["email"],
            "contacts": {"email": "security@fabrikam.example"}
        }]}"#,
    );
    let run = org_import(&ws, "more.json").ok();
    assert!(run.stdout.contains("1 created"), "{}", run.stdout);
    let list = org_list(&ws);
    assert!(
        list.contains("fabrikam") && list.contains("Fabrikam Inc") && list.contains("contoso"),
        "{list}"
    );
}

#[test]
fn org_import_with_mistakes_reports_each_by_org_and_field_and_imports_nothing() {
    let ws = workspace_with_contoso();
    let before = org_list(&ws);

    ws.write(
        "bad.toml",
        r#"
[[org]]
id = "alpha"
name = "Alpha"
account_number = "60012345"
registered_numbers = ["12345"]
channels = ["email", "fax"]
[org.contacts]
email = "not-an-address"

[[org]]
id = "beta"
name = "Beta"
account_number = "abc"
registered_numbers = ["+14155550177"]
channels = ["sms"]
[org.contacts]
sms = "+1555"

[[org]]
id = "gamma"
name = "Gamma is fine"
account_number = "70012345"
registered_numbers = ["+14155550188"]
channels = ["email"]
[org.contacts]
email = "it@gamma.example"
"#,
    );
    let run = org_import(&ws, "bad.toml").refused();
    for needle in [
        "org alpha: registered_numbers[0]",
        "org alpha: channels[1]",
        "org alpha: contacts.email",
        "org beta: account_number",
        "org beta: contacts.sms",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} not reported:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.stderr.contains("gamma"),
        "the valid org is not an error:\n{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(
        org_list(&ws),
        before,
        "a file with mistakes imported something"
    );
}

#[test]
fn org_import_refuses_a_number_registered_to_another_org() {
    let ws = workspace_with_contoso();
    let before = org_list(&ws);
    ws.write(
        "taken.toml",
        r#"
[[org]]
id = "fabrikam"
name = "Fabrikam Inc"
account_number = "50012345"
registered_numbers = ["+442071838750", "+14155550100"]
channels = ["email"]
[org.contacts]
email = "security@fabrikam.example"
"#,
    );
    let run = org_import(&ws, "taken.toml").refused();
    assert!(
        run.stderr.contains("org fabrikam: registered_numbers[1]"),
        "the error names org and field:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("contoso"),
        "the error names the owner:\n{}",
        run.stderr
    );
    assert_eq!(org_list(&ws), before, "a refused import wrote something");
}

fn audit_kinds(ws: &Workspace) -> Vec<String> {
    let export = ws
        .run(&["--config", "pingate.toml", "audit", "export"])
        .ok();
    export
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSONL");
            v["kind"].as_str().expect("kind").to_string()
        })
        .collect()
}

#[test]
fn reimporting_an_unchanged_file_reports_and_audits_nothing() {
    let ws = workspace_with_contoso();
    let before = audit_kinds(&ws);
    // The same profiles, numbers listed in another order.
    ws.write(
        "same.toml",
        &CONTOSO.replace(
            r#"["+14155550100", "+8613800138000"]"#,
            r#"["+8613800138000", "+14155550100"]"#,
        ),
    );
    for file in ["orgs.toml", "same.toml"] {
        let run = org_import(&ws, file).ok();
        assert!(
            run.stdout.contains("0 created, 0 updated, 1 unchanged"),
            "{}",
            run.stdout
        );
    }
    assert_eq!(
        audit_kinds(&ws),
        before,
        "an unchanged import is not audited"
    );
    ws.write(
        "orgs.toml",
        &CONTOSO.replace("Contoso Ltd", "Contoso Group"),
    );
    let run = org_import(&ws, "orgs.toml").ok();
    assert!(
        run.stdout.contains("1 updated, 0 unchanged"),
        "{}",
        run.stdout
    );
    let after = audit_kinds(&ws);
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after.last().map(String::as_str), Some("org_updated"));
}

#[test]
fn import_errors_found_in_the_database_name_the_file_and_the_other_org() {
    let ws = workspace_with_contoso();
    ws.write(
        "fabrikam.toml",
        r#"
[[org]]
id = "fabrikam"
name = "Fabrikam Inc"
account_number = "40012345"
registered_numbers = ["+442071838750"]
channels = ["email"]
[org.contacts]
email = "security@fabrikam.example"
"#,
    );
    let run = org_import(&ws, "fabrikam.toml").refused();
    assert!(
        run.stderr
            .starts_with("error: fabrikam.toml has 1 error(s); nothing was imported"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "org fabrikam: account_number: 40012345 is already the account number of org contoso"
        ),
        "{}",
        run.stderr
    );
    assert!(!org_list(&ws).contains("fabrikam"));
}

#[test]
fn org_import_refuses_a_file_type_it_does_not_read() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    // Valid TOML under a YAML name: refused, not silently read as TOML.
    ws.write("orgs.yaml", CONTOSO);
    let run = org_import(&ws, "orgs.yaml").refused();
    assert!(run.stderr.contains("orgs.yaml"), "{}", run.stderr);
    assert!(run.stderr.contains(".toml or .json"), "{}", run.stderr);
    // Nothing was imported (nor a database created to import into).
    let list = ws.run(&["org", "list", "--config", "pingate.toml"]);
    assert!(!list.stdout.contains("contoso"), "{}", list.stdout);
}
