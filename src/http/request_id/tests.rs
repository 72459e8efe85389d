use super::acceptable;

#[test]
fn short_plain_ids_are_kept_and_long_or_odd_ones_are_not() {
    assert!(acceptable(b"9f1c2a4e-1b2c-4d5e-8f90-0123456789ab"));
    assert!(!acceptable(&[b'a'; 5000]));
    assert!(!acceptable(b"id with spaces"));
    assert!(!acceptable(b"line\nbreak"));
    assert!(!acceptable(b""));
}
