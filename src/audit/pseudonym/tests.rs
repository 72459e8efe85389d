use super::*;

#[test]
fn same_number_same_pseudonym_and_no_number_in_clear() {
    let p = Pseudonymiser::new([7; 32]);
    let a = p.number("+14155550100");
    assert_eq!(a, p.number("+14155550100"));
    assert_ne!(a, p.number("+14155550101"));
    assert!(a.ends_with("…0100"));
    assert!(!a.contains("4155550"));
    assert_ne!(a, Pseudonymiser::new([8; 32]).number("+14155550100"));
}

/// The key never reaches a log line, but a Debug print still says what it is.
#[test]
fn debug_names_the_type_and_hides_the_key() {
    assert_eq!(
        format!("{:?}", Pseudonymiser::new([7; 32])),
        "Pseudonymiser(***)"
    );
}
