use super::import::is_language_tag;
use super::*;
use proptest::prelude::*;

const DESIGN_EXAMPLE: &str = r#"
[[org]]
id = "contoso"                 # stable id, [a-z0-9-]
name = "Contoso Ltd"
account_number = "40012345"    # what the caller keys into the IVR
registered_numbers = ["+14155550100", "+8613800138000"]
channels = ["email", "sms"]    # which challenge channels this org accepts
[org.contacts]
email = "it-admin@contoso.example"
sms = "+14155550199"
"#;

fn errors_of(text: &str, format: ImportFormat) -> Vec<(String, String, String)> {
    parse_import(text, format)
        .expect_err("file has mistakes")
        .errors
        .into_iter()
        .map(|e| (e.org, e.field, e.message))
        .collect()
}

fn fields_of(text: &str, format: ImportFormat) -> Vec<(String, String)> {
    errors_of(text, format)
        .into_iter()
        .map(|(org, field, _)| (org, field))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(o, f)| ((*o).to_owned(), (*f).to_owned()))
        .collect()
}

#[test]
fn design_example_parses() {
    let orgs = parse_import(DESIGN_EXAMPLE, ImportFormat::Toml).expect("valid");
    assert_eq!(orgs.len(), 1);
    let org = &orgs[0];
    assert_eq!(org.id.as_str(), "contoso");
    assert_eq!(org.name, "Contoso Ltd");
    assert_eq!(org.account_number, "40012345");
    let numbers: Vec<&str> = org.numbers().map(E164::as_str).collect();
    assert_eq!(numbers, ["+14155550100", "+8613800138000"]);
    assert_eq!(org.channels, [Channel::Email, Channel::Sms]);
    assert!(org.accepts(Channel::Sms));
    assert_eq!(
        org.contacts.email.as_ref().map(EmailAddress::as_str),
        Some("it-admin@contoso.example")
    );
    assert_eq!(
        org.contacts.sms.as_ref().map(E164::as_str),
        Some("+14155550199")
    );
    assert_eq!(org.language, None);
}

#[test]
fn five_mistakes_are_all_reported_with_org_and_field() {
    let text = r#"
[[org]]
id = "contoso"
name = "Contoso Ltd"
account_number = "40012345"
registered_numbers = ["+14155550100", "+1415"]
channels = ["email", "sms"]
[org.contacts]
email = "it-admin@contoso.example"

[[org]]
id = "Fabrikam"
name = "Fabrikam Inc"
account_number = "40012345"
registered_numbers = ["+8613800138000"]
channels = ["email"]
[org.contacts]
email = "it@fabrikam.example"

[[org]]
name = "Northwind"
account_number = "5005"
registered_numbers = ["+4915112345678"]
channels = ["sms"]
contacts = { sms = "+4915112345679" }
"#;
    let errors = parse_import(text, ImportFormat::Toml).expect_err("five mistakes");
    let got: Vec<(String, String)> = errors
        .iter()
        .map(|e| (e.org.clone(), e.field.clone()))
        .collect();
    assert_eq!(
        got,
        pairs(&[
            ("contoso", "registered_numbers[1]"),
            ("contoso", "contacts.sms"),
            ("Fabrikam", "id"),
            ("Fabrikam", "account_number"),
            ("#3", "id"),
        ])
    );
    assert_eq!((errors.len(), errors.is_empty()), (5, false));
    assert_eq!((&errors).into_iter().count(), 5);
    let report = errors.to_string();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[0],
        r#"org contoso: registered_numbers[1]: not a valid E.164 number ("+1415")"#
    );
    assert_eq!(
        lines[1],
        "org contoso: contacts.sms: missing, but the sms channel requires it"
    );
    assert!(lines[2].starts_with(r#"org Fabrikam: id: not a valid org id ("Fabrikam")"#));
    assert_eq!(
        lines[3],
        "org Fabrikam: account_number: already used by org contoso in this file"
    );
    assert_eq!(lines[4], "org #3: id: missing");
}

#[test]
fn json_equivalent_parses_and_reports_the_same_way() {
    let json = r#"{"org": [{
        "id": "contoso",
        "name": "Contoso Ltd",
        "account_number": "40012345",
        "registered_numbers": ["+14155550100", "+8613800138000"],
        "channels": ["email", "sms"],
        "contacts": {"email": "it-admin@contoso.example", "sms": "+14155550199"},
        "language": "pt-BR"
    }]}"#;
    let from_json = parse_import(json, ImportFormat::Json).expect("valid");
    let mut from_toml = parse_import(DESIGN_EXAMPLE, ImportFormat::Toml).expect("valid");
    from_toml[0].language = Some("pt-BR".to_owned());
    assert_eq!(from_json, from_toml);

    let bad = r#"{"org": [{"id": "contoso", "name": "", "account_number": "12",
        "registered_numbers": ["+1415"], "channels": ["fax"]}]}"#;
    assert_eq!(
        fields_of(bad, ImportFormat::Json),
        pairs(&[
            ("contoso", "name"),
            ("contoso", "account_number"),
            ("contoso", "registered_numbers[0]"),
            ("contoso", "channels[0]"),
        ])
    );
}

#[test]
fn serialized_profile_imports_again() {
    let orgs = parse_import(DESIGN_EXAMPLE, ImportFormat::Toml).expect("valid");
    let json = serde_json::json!({ "org": orgs });
    let again = parse_import(&json.to_string(), ImportFormat::Json).expect("valid");
    assert_eq!(again, orgs);
}

#[test]
fn unknown_fields_are_rejected_by_name() {
    let text = r#"
[[org]]
id = "contoso"
name = "Contoso Ltd"
account_number = "40012345"
channels = ["email"]
phone = "+14155550100"
[org.contacts]
email = "a@contoso.example"
fax = "+14155550100"
"#;
    let errors = errors_of(text, ImportFormat::Toml);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].1, "contacts.fax");
    assert_eq!(errors[1].1, "phone");
    assert!(errors[1].2.contains("unknown field"));

    let top = "orgs = []\n[[org]]\nid = \"a\"\n";
    let errors = errors_of(top, ImportFormat::Toml);
    assert_eq!(errors[0].1, "file");
    assert!(errors[0].2.contains("\"orgs\""), "{errors:?}");
}

#[test]
fn wrong_types_are_reported_per_field() {
    let text = r#"
[[org]]
id = "contoso"
name = "Contoso"
account_number = 40012345
registered_numbers = ["+14155550100", 4155550101]
channels = "email"
contacts = "a@contoso.example"
language = "english-language"
"#;
    // Type errors first (by field name), then the rules still run on the
    // well-typed fields; mistyped ones are not also reported as missing.
    let errors = errors_of(text, ImportFormat::Toml);
    let fields: Vec<&str> = errors.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        fields,
        [
            "account_number",
            "channels",
            "contacts",
            "registered_numbers[1]",
            "language",
        ]
    );
    assert!(
        errors[0].2.contains(r#"quote it: "40012345""#),
        "{}",
        errors[0].2
    );
}

#[test]
fn syntax_errors_are_one_file_error_with_position() {
    let toml = "[[org]]\nid = \"contoso\nname = \"x\"\n";
    let errors = parse_import(toml, ImportFormat::Toml).expect_err("bad syntax");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.errors[0].field, "file");
    assert!(errors.errors[0].message.contains("line 2"), "{errors}");
    assert!(!errors.to_string().contains('\n'));
    assert!(errors.to_string().starts_with("file: "));

    let json = "{\"org\": [\n{\"id\": }]}";
    let errors = parse_import(json, ImportFormat::Json).expect_err("bad syntax");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.errors[0].field, "file");
    assert!(errors.errors[0].message.contains("line 2"), "{errors}");
}

#[test]
fn file_shape_errors() {
    for (text, format) in [
        ("", ImportFormat::Toml),
        ("org = []", ImportFormat::Toml),
        ("org = \"contoso\"", ImportFormat::Toml),
        ("[]", ImportFormat::Json),
        ("{\"org\": {}}", ImportFormat::Json),
        ("{\"org\": [5]}", ImportFormat::Json),
    ] {
        let errors = parse_import(text, format).expect_err("bad shape");
        assert_eq!(errors.len(), 1, "{text:?}: {errors}");
        let field = &errors.errors[0].field;
        assert!(field == "file" || field == "org", "{text:?}: {errors}");
    }
}

#[test]
fn a_number_registered_to_two_orgs_is_refused() {
    let text = r#"
[[org]]
id = "a"
name = "A"
account_number = "1111"
registered_numbers = ["+14155550100", "+1 415 555 0100"]
channels = ["sms"]
contacts = { sms = "+14155550199" }

[[org]]
id = "b"
name = "B"
account_number = "2222"
registered_numbers = ["+8613800138000", "+14155550100"]
channels = ["sms"]
contacts = { sms = "+14155550199" }
"#;
    let errors = errors_of(text, ImportFormat::Toml);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        (errors[0].0.as_str(), errors[0].1.as_str()),
        ("a", "registered_numbers[1]")
    );
    assert!(errors[0].2.contains("listed twice"));
    assert_eq!(
        (errors[1].0.as_str(), errors[1].1.as_str()),
        ("b", "registered_numbers[1]")
    );
    assert_eq!(
        errors[1].2,
        "+14155550100 is already registered to org a in this file"
    );
}

#[test]
fn duplicate_ids_channels_and_bad_contacts() {
    let text = r#"
[[org]]
id = "a"
name = "A"
account_number = "1111"
channels = ["email"]
contacts = { email = "a@a.example" }

[[org]]
id = "a"
name = "  "
account_number = "2222x"
channels = ["sms", "sms", "Email"]
language = "english-language"
contacts = { email = "nope", sms = "4155550100" }

[[org]]
id = "c"
name = "C"
account_number = "3333"
channels = []
"#;
    let errors = errors_of(text, ImportFormat::Toml);
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|(o, f, _)| (o.as_str(), f.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("a", "id"),
            ("a", "name"),
            ("a", "account_number"),
            ("a", "channels[1]"),
            ("a", "channels[2]"),
            ("a", "contacts.email"),
            ("a", "contacts.sms"),
            ("a", "language"),
            ("c", "channels"),
        ]
    );
    assert_eq!(errors[0].2, "duplicate id, also used by entry #1");
    assert!(
        errors[6].2.contains("must start with '+'"),
        "{}",
        errors[6].2
    );
}

#[test]
fn hostile_values_cannot_forge_report_lines() {
    let json = r#"{"org": [{"id": "x\norg evil: id: ok", "name": "N"}]}"#;
    let report = parse_import(json, ImportFormat::Json)
        .expect_err("invalid")
        .to_string();
    for line in report.lines() {
        assert!(line.starts_with("org x\\norg evil"), "{report}");
    }
}

#[test]
fn parse_org_json_validates_a_single_entry() {
    let value = serde_json::json!({
        "id": "contoso", "name": "Contoso", "account_number": "1234",
        "channels": ["email"], "contacts": {"email": "a@contoso.example"}
    });
    let org = parse_org_json(&value).expect("valid");
    assert_eq!(org.id.as_str(), "contoso");
    assert!(org.registered_numbers.is_empty());
    let bad = serde_json::json!({"id": "contoso", "name": "Contoso", "channels": ["email"]});
    let errors = parse_org_json(&bad).expect_err("invalid");
    assert_eq!(errors.len(), 2, "{errors}");
    // Every required field valid, one mistake elsewhere: still refused.
    let mut one_bad_number = value.clone();
    one_bad_number["registered_numbers"] = serde_json::json!(["+1415"]);
    let errors = parse_org_json(&one_bad_number).expect_err("a bad number");
    assert_eq!(errors.errors[0].field, "registered_numbers[0]", "{errors}");
}

#[test]
fn import_format_from_path() {
    assert_eq!(
        ImportFormat::from_path(Path::new("orgs.json")),
        ImportFormat::Json
    );
    assert_eq!(
        ImportFormat::from_path(Path::new("ORGS.JSON")),
        ImportFormat::Json
    );
    assert_eq!(
        ImportFormat::from_path(Path::new("orgs.toml")),
        ImportFormat::Toml
    );
    assert_eq!(
        ImportFormat::from_path(Path::new("orgs")),
        ImportFormat::Toml
    );
}

#[test]
fn import_refuses_extensions_it_does_not_read() {
    assert_eq!(
        ImportFormat::for_file(Path::new("orgs.TOML")),
        Some(ImportFormat::Toml)
    );
    assert_eq!(
        ImportFormat::for_file(Path::new("orgs.json")),
        Some(ImportFormat::Json)
    );
    assert_eq!(
        ImportFormat::for_file(Path::new("orgs")),
        Some(ImportFormat::Toml)
    );
    for other in ["orgs.yaml", "orgs.yml", "orgs.txt", "orgs.toml.bak"] {
        assert_eq!(ImportFormat::for_file(Path::new(other)), None, "{other}");
    }
}

#[test]
fn org_id_rules() {
    for ok in ["a", "contoso", "contoso-eu-1", "9", &"a".repeat(64)] {
        assert!(OrgId::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "-a",
        "a-",
        "Contoso",
        "con_toso",
        "con toso",
        "é",
        &"a".repeat(65),
    ] {
        assert_eq!(OrgId::parse(bad), Err(OrgIdError), "{bad}");
    }
    let id = OrgId::parse("contoso").expect("valid");
    assert_eq!(id.to_string(), "contoso");
    assert_eq!(serde_json::to_string(&id).expect("ser"), r#""contoso""#);
    assert!(serde_json::from_str::<OrgId>(r#""Bad""#).is_err());
}

#[test]
fn channel_string_forms() {
    for &channel in Channel::ALL {
        assert_eq!(channel.as_str().parse::<Channel>(), Ok(channel));
        let json = serde_json::to_string(&channel).expect("ser");
        assert_eq!(json, format!("\"{}\"", channel.as_str()));
        assert_eq!(serde_json::from_str::<Channel>(&json).expect("de"), channel);
    }
    assert_eq!("fax".parse::<Channel>(), Err(UnknownChannel));
    assert_eq!("Email".parse::<Channel>(), Err(UnknownChannel));
}

#[test]
fn language_tags() {
    for ok in ["en", "pt-BR", "zh-Hant-TW", "de-CH-1996", "gsw"] {
        assert!(is_language_tag(ok), "{ok}");
    }
    for bad in [
        "",
        "e",
        "english",
        "en_US",
        "en-",
        "-en",
        "pt-BRAZILIAN",
        "en-ü",
    ] {
        assert!(!is_language_tag(bad), "{bad}");
    }
}

proptest! {
    #[test]
    fn parse_import_never_panics(text in any::<String>()) {
        let _ = parse_import(&text, ImportFormat::Toml);
        let _ = parse_import(&text, ImportFormat::Json);
    }
}

#[test]
fn the_advanced_contract_is_read_from_the_profile_and_defaults_to_none() {
    let without = parse_import(DESIGN_EXAMPLE, ImportFormat::Toml).expect("valid");
    assert!(!without[0].severity_a);
    let with = DESIGN_EXAMPLE.replace("[org.contacts]", "severity_a = true\n[org.contacts]");
    let orgs = parse_import(&with, ImportFormat::Toml).expect("valid");
    assert!(orgs[0].severity_a);
    // It survives an export and a re-import.
    let json = serde_json::to_string(&serde_json::json!({ "org": [&orgs[0]] })).unwrap();
    assert!(parse_import(&json, ImportFormat::Json).expect("valid")[0].severity_a);
    let wrong = DESIGN_EXAMPLE.replace("[org.contacts]", "severity_a = \"yes\"\n[org.contacts]");
    let errors = errors_of(&wrong, ImportFormat::Toml);
    assert_eq!(
        errors,
        [(
            "contoso".to_owned(),
            "severity_a".to_owned(),
            "expected true or false, found a string".to_owned()
        )]
    );
}

#[test]
fn org_names_with_braces_are_refused_so_no_name_can_name_a_placeholder() {
    for name in ["Acme {pin}", "Acme }", "{org}"] {
        let text = format!(
            "[[org]]\nid = \"acme\"\nname = {name:?}\naccount_number = \"40012345\"\n\
             channels = [\"email\"]\n[org.contacts]\nemail = \"it@acme.example\"\n"
        );
        let errors = errors_of(&text, ImportFormat::Toml);
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        assert_eq!(
            (errors[0].0.as_str(), errors[0].1.as_str()),
            ("acme", "name")
        );
        assert!(errors[0].2.contains("brace"), "{errors:?}");
    }
}

mod bounds;
mod profile;
