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

/// Keying once changes no pseudonym: each is still the first 8 bytes of
/// HMAC-SHA256(key, number), so events before and after correlate.
#[test]
fn a_pseudonym_is_the_hmac_of_the_number_under_the_key() {
    let p = Pseudonymiser::new([7; 32]);
    for number in ["+14155550100", "+442071838750", "+14155550100"] {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&[7; 32]).expect("key");
        mac.update(number.as_bytes());
        let tag = hex::encode(&mac.finalize().into_bytes()[..8]);
        let tail = &number[number.len() - 4..];
        assert_eq!(p.number(number), format!("h:{tag}…{tail}"));
    }
}

/// The key never reaches a log line, but a Debug print still says what it is.
#[test]
fn debug_names_the_type_and_hides_the_key() {
    assert_eq!(
        format!("{:?}", Pseudonymiser::new([7; 32])),
        "Pseudonymiser(***)"
    );
}
