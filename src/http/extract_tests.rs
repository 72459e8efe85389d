use super::redact_values;

#[test]
fn values_in_type_errors_are_redacted_but_field_names_kept() {
    let m = "pin: invalid type: integer `565372`, expected a string at line 1 column 14";
    let r = redact_values(m);
    assert!(!r.contains("565372"), "{r}");
    assert!(r.starts_with("pin: invalid type: integer `…`"), "{r}");
    let u = "unknown field `destination`, expected `channel`";
    assert_eq!(redact_values(u), u);
}
