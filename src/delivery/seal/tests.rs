use super::*;

fn sealer(b: u8) -> Sealer {
    Sealer::new(&SecretBox::new(Box::new([b; 32])))
}

#[test]
fn seal_open_round_trip_and_ciphertext_hides_the_pin() {
    let s = sealer(1);
    let sealed = s.seal("Your code is 493817", "msg_1").unwrap();
    assert!(!sealed.windows(6).any(|w| w == b"493817"));
    assert_eq!(
        s.open(&sealed, "msg_1").unwrap().expose_secret(),
        "Your code is 493817"
    );
}

#[test]
fn wrong_key_wrong_row_or_tampering_fail() {
    let s = sealer(1);
    let sealed = s.seal("x", "msg_1").unwrap();
    assert_eq!(
        sealer(2).open(&sealed, "msg_1").unwrap_err(),
        SealError::Open
    );
    assert_eq!(s.open(&sealed, "msg_2").unwrap_err(), SealError::Open);
    let mut t = sealed.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    assert_eq!(s.open(&t, "msg_1").unwrap_err(), SealError::Open);
    assert_eq!(s.open(&sealed[..5], "msg_1").unwrap_err(), SealError::Open);
}
