use super::*;

#[test]
fn the_first_agent_to_act_claims_the_call_and_others_are_refused() {
    assert_eq!(may_act(None, "alice"), Acting::Claim);
    assert_eq!(may_act(Some("alice"), "alice"), Acting::Proceed);
    assert_eq!(
        may_act(Some("alice"), "bob"),
        Acting::Refuse { handler: "alice" }
    );
}

#[test]
fn taking_over_names_the_previous_handler() {
    assert_eq!(take_over(None, "bob"), Takeover::Claim);
    assert_eq!(take_over(Some("bob"), "bob"), Takeover::AlreadyHandling);
    assert_eq!(
        take_over(Some("alice"), "bob"),
        Takeover::From { previous: "alice" }
    );
}

#[test]
fn only_taking_a_call_from_another_agent_ends_their_grants() {
    assert_eq!(take_over(None, "bob").ends_grants_of(), None);
    assert_eq!(take_over(Some("bob"), "bob").ends_grants_of(), None);
    assert_eq!(
        take_over(Some("alice"), "bob").ends_grants_of(),
        Some("alice")
    );
}

#[test]
fn agents_see_their_own_grants_and_admins_all() {
    assert!(may_see_grant("alice", false, "alice"));
    assert!(!may_see_grant("bob", false, "alice"));
    assert!(may_see_grant("adam", true, "alice"));
}

#[test]
fn a_disabled_expired_or_rotated_issuer_no_longer_vouches() {
    let ok = Issuer {
        disabled_at: None,
        expires_at: None,
        rotated_at: None,
    };
    assert!(issuer_vouches(100, 50, Some(ok)));
    assert!(!issuer_vouches(100, 50, None));
    let disabled = Issuer {
        disabled_at: Some(90),
        ..ok
    };
    assert!(!issuer_vouches(100, 50, Some(disabled)));
    let expired = Issuer {
        expires_at: Some(100),
        ..ok
    };
    assert!(!issuer_vouches(100, 50, Some(expired)));
    assert!(issuer_vouches(99, 50, Some(expired)));
    let rotated = Issuer {
        rotated_at: Some(60),
        ..ok
    };
    assert!(!issuer_vouches(100, 50, Some(rotated)), "issued before");
    assert!(issuer_vouches(100, 60, Some(rotated)), "issued after");
}
