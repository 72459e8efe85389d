use std::path::PathBuf;

use super::*;

#[test]
fn a_typo_gets_the_nearest_key_and_a_stranger_none() {
    let known = ["length", "ttl", "max_attempts"];
    assert_eq!(closest("lenght", known), Some("length"));
    assert_eq!(closest("max_attempt", known), Some("max_attempts"));
    assert_eq!(closest("colour", known), None);
}

#[test]
fn a_problem_names_the_file_and_line_or_the_variable() {
    let mut p = Problem::value("pin.length", "must be a whole number, got \"six\"");
    p.origin = Some(Origin::File {
        path: PathBuf::from("config/pingate.toml"),
        line: Some(12),
    });
    assert_eq!(
        p.to_string(),
        "pin.length: must be a whole number, got \"six\" (config/pingate.toml, line 12)"
    );
    let mut p = Problem::unknown("pin.lenght", Some("pin.length".into()));
    p.origin = Some(Origin::Env {
        var: "PINGATE__PIN__LENGHT".into(),
    });
    assert_eq!(
        p.to_string(),
        "PINGATE__PIN__LENGHT: unknown key pin.lenght; did you mean pin.length?"
    );
}
