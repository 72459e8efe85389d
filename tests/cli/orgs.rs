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
