use super::*;
use crate::domain::phone::{CallerId, E164};

fn e164() -> CallerId {
    CallerId::E164(E164::parse("+14155550100").unwrap())
}

#[test]
fn only_a_registered_attested_number_is_trusted_by_default() {
    let t = CallerIdTrust::AttestedA;
    assert_eq!(
        classify_call(&e164(), true, Attestation::Full, t),
        Verification::TrustedNumber
    );
    for att in [Attestation::Unverified, Attestation::Partial] {
        assert_eq!(
            classify_call(&e164(), true, att, t),
            Verification::PinRequired,
            "{att:?}"
        );
    }
    assert_eq!(
        classify_call(&e164(), false, Attestation::Full, t),
        Verification::PinRequired
    );
}

#[test]
fn trust_any_accepts_the_number_alone_but_never_a_non_number() {
    let t = CallerIdTrust::Any;
    assert_eq!(
        classify_call(&e164(), true, Attestation::Unverified, t),
        Verification::TrustedNumber
    );
    for c in [
        CallerId::Withheld,
        CallerId::Client("alice".into()),
        CallerId::Sip("sip:a@b".into()),
        CallerId::Other("x".into()),
    ] {
        assert_eq!(
            classify_call(&c, true, Attestation::Full, t),
            Verification::PinRequired
        );
    }
}

#[test]
fn call_ends_round_trip() {
    for s in CallEnd::ALL {
        assert_eq!(CallEnd::parse(s.as_str()), Some(*s));
    }
    for s in Attestation::ALL {
        assert_eq!(Attestation::parse(s.as_str()), Some(*s));
    }
}

#[test]
fn grants_expire_and_revoke() {
    assert!(grant_active(0, 10, None));
    assert!(!grant_active(10, 10, None));
    assert!(!grant_active(0, 10, Some(0)));
}

#[test]
fn string_forms_round_trip() {
    for s in ChallengeStatus::ALL {
        assert_eq!(ChallengeStatus::parse(s.as_str()), Some(*s));
    }
    for s in Verification::ALL {
        assert_eq!(Verification::parse(s.as_str()), Some(*s));
    }
}
