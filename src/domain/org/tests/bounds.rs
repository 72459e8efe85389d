//! Import rules at their edges: bounds, blank and lone mistyped fields,
//! and where a syntax error is said to be.

use super::super::import::line_column;
use super::*;

#[test]
fn a_lone_mistyped_field_is_reported_once_not_also_as_missing() {
    let text = r#"
[[org]]
id = "contoso"
name = 5
account_number = "40012345"
channels = ["email"]
contacts = { email = "it@contoso.example" }
"#;
    let errors = errors_of(text, ImportFormat::Toml);
    assert_eq!(
        errors,
        [(
            "contoso".to_owned(),
            "name".to_owned(),
            r#"expected a string, found a number (quote it: "5")"#.to_owned()
        )]
    );
}

#[test]
fn an_entry_with_a_blank_id_is_named_by_its_position() {
    let text = r#"
[[org]]
id = "  "
name = "Contoso"
account_number = "40012345"
channels = ["email"]
contacts = { email = "it@contoso.example" }
"#;
    let errors = errors_of(text, ImportFormat::Toml);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].0.as_str(), errors[0].1.as_str()), ("#1", "id"));
}

/// One entry, valid but for what `fields` (TOML lines) overrides.
fn entry_with(fields: &str) -> String {
    let mut entry = [
        ("id", r#""contoso""#.to_owned()),
        ("name", r#""Contoso""#.to_owned()),
        ("account_number", r#""40012345""#.to_owned()),
        ("channels", r#"["email"]"#.to_owned()),
        ("contacts", r#"{ email = "it@contoso.example" }"#.to_owned()),
    ];
    for line in fields.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line.split_once(" = ").expect("key = value");
        match entry.iter_mut().find(|(k, _)| *k == key.trim()) {
            Some(slot) => slot.1 = value.to_owned(),
            None => panic!("{key} is not one of the entry's fields"),
        }
    }
    let body: Vec<String> = entry.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!("[[org]]\n{}\n", body.join("\n"))
}

#[test]
fn names_and_account_numbers_are_refused_just_past_their_bounds() {
    let ok = |fields: &str| parse_import(&entry_with(fields), ImportFormat::Toml).is_ok();
    let name = |n: usize| format!("name = \"{}\"", "é".repeat(n));
    assert!(ok(&name(200)), "200 characters (400 bytes) is a name");
    assert_eq!(
        errors_of(&entry_with(&name(201)), ImportFormat::Toml)[0].2,
        "longer than 200 characters"
    );
    assert!(ok(r#"account_number = "1234""#));
    assert!(ok(&format!("account_number = \"{}\"", "9".repeat(20))));
    for bad in ["123".to_owned(), "9".repeat(21), "12a4".to_owned()] {
        let errors = errors_of(
            &entry_with(&format!("account_number = \"{bad}\"")),
            ImportFormat::Toml,
        );
        assert_eq!(errors[0].2, format!("must be 4 to 20 digits (\"{bad}\")"));
    }
}

#[test]
fn syntax_error_positions_count_lines_and_characters_from_one() {
    let text = "ab\ncdé\nf";
    assert_eq!(line_column(text, 0), (1, 1));
    assert_eq!(line_column(text, 2), (1, 3));
    assert_eq!(line_column(text, 3), (2, 1));
    // 'é' is two bytes and one column.
    assert_eq!(line_column(text, 7), (2, 4));
    assert_eq!(line_column(text, 8), (3, 1));
}

#[test]
fn a_language_tag_is_at_most_thirty_five_characters() {
    let longest = format!("en{}-abcde", "-abcdefgh".repeat(3));
    assert_eq!(longest.len(), 35);
    assert!(is_language_tag(&longest));
    assert!(!is_language_tag(&format!("{longest}f")));
}

#[test]
fn values_quoted_in_errors_are_cut_at_sixty_four_characters() {
    let message = |account: &str| {
        let fields = format!("account_number = \"{account}\"");
        errors_of(&entry_with(&fields), ImportFormat::Toml)[0]
            .2
            .clone()
    };
    let at_most = "1".repeat(64);
    assert_eq!(
        message(&at_most),
        format!("must be 4 to 20 digits (\"{at_most}\")")
    );
    let longer = format!("{at_most}23");
    assert_eq!(
        message(&longer),
        format!("must be 4 to 20 digits (\"{at_most}\"…)")
    );
}

#[test]
fn an_entry_is_named_by_its_id_cut_at_sixty_four_characters() {
    let label = |id: &str| {
        let fields = format!("id = \"{id}\"\naccount_number = \"1\"");
        errors_of(&entry_with(&fields), ImportFormat::Toml)[0]
            .0
            .clone()
    };
    let longest = "a".repeat(64);
    assert_eq!(label(&longest), longest);
    assert_eq!(label(&format!("{longest}b")), format!("{longest}…"));
}

#[test]
fn a_list_of_only_mistyped_items_is_not_also_missing() {
    let text = r#"
[[org]]
id = "contoso"
name = "Contoso"
account_number = "40012345"
channels = [5]
"#;
    assert_eq!(
        fields_of(text, ImportFormat::Toml),
        pairs(&[("contoso", "channels[0]")])
    );
}

#[test]
fn a_well_typed_field_beside_a_shape_mistake_is_not_reported() {
    let text = r#"
[[org]]
id = "contoso"
name = "Contoso"
account_number = "40012345"
channels = ["email"]
contacts = { email = "it@contoso.example" }
severity_a = true
colour = "blue"
"#;
    assert_eq!(
        fields_of(text, ImportFormat::Toml),
        pairs(&[("contoso", "colour")])
    );
}

#[test]
fn a_date_time_and_a_table_are_named_as_such_where_a_string_belongs() {
    let text = r#"
[[org]]
id = "contoso"
name = 1979-05-27T07:32:00Z
account_number = { digits = "40012345" }
channels = ["email"]
contacts = { email = "it@contoso.example" }
"#;
    assert_eq!(
        field_messages(text),
        pairs(&[
            ("account_number", "expected a string, found a table"),
            ("name", "expected a string, found a date-time"),
        ])
    );
}

#[test]
fn a_mistyped_contact_is_reported_as_such_not_as_missing() {
    let text = r#"
[[org]]
id = "contoso"
name = "Contoso"
account_number = "40012345"
channels = ["email"]
contacts = { email = 5 }
"#;
    assert_eq!(
        field_messages(text),
        pairs(&[(
            "contacts.email",
            r#"expected a string, found a number (quote it: "5")"#
        )])
    );
}

/// Each mistake of a TOML import as (field, message).
fn field_messages(text: &str) -> Vec<(String, String)> {
    errors_of(text, ImportFormat::Toml)
        .into_iter()
        .map(|(_, field, message)| (field, message))
        .collect()
}
