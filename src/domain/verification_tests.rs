use super::*;
use crate::domain::phone::{CallerId, E164};
use proptest::prelude::*;

fn e164() -> CallerId {
    CallerId::E164(E164::parse("+14155550100").unwrap())
}

#[test]
fn only_a_registered_attested_number_is_trusted_by_default() {
    let t = CallerIdTrust::AttestedA;
    assert_eq!(
        classify_call(&e164(), true, Some(FULL_ATTESTATION), t),
        Verification::TrustedNumber
    );
    for att in [
        None,
        Some("TN-Validation-Passed-B"),
        Some("TN-Validation-Passed-C"),
        Some("No-TN-Validation"),
        Some("TN-Validation-Failed-A"),
    ] {
        assert_eq!(
            classify_call(&e164(), true, att, t),
            Verification::PinRequired,
            "{att:?}"
        );
    }
    assert_eq!(
        classify_call(&e164(), false, Some(FULL_ATTESTATION), t),
        Verification::PinRequired
    );
}

#[test]
fn trust_any_accepts_the_number_alone_but_never_a_non_number() {
    let t = CallerIdTrust::Any;
    assert_eq!(
        classify_call(&e164(), true, None, t),
        Verification::TrustedNumber
    );
    for c in [
        CallerId::Withheld,
        CallerId::Client("alice".into()),
        CallerId::Sip("sip:a@b".into()),
        CallerId::Other("x".into()),
    ] {
        assert_eq!(
            classify_call(&c, true, Some(FULL_ATTESTATION), t),
            Verification::PinRequired
        );
    }
}

fn pending(max_attempts: u32) -> Challenge {
    Challenge {
        status: ChallengeStatus::Pending,
        attempts: 0,
        max_attempts,
        sends: 1,
        expires_at: 1_000,
    }
}

#[test]
fn wrong_answers_count_down_then_lock() {
    let mut c = pending(3);
    for left in [2, 1] {
        assert_eq!(c.gate(0), CheckGate::Evaluate { attempt: 3 - left });
        assert_eq!(
            c.settle(false),
            Ok(CheckOutcome::Wrong {
                attempts_left: left
            })
        );
    }
    assert_eq!(c.gate(0), CheckGate::Evaluate { attempt: 3 });
    assert_eq!(c.settle(false), Ok(CheckOutcome::Locked));
    assert_eq!(c.gate(0), CheckGate::Refuse(ChallengeStatus::Locked));
}

#[test]
fn a_right_answer_on_the_last_attempt_still_approves() {
    let mut c = pending(2);
    c.gate(0);
    c.settle(false).unwrap();
    assert_eq!(c.gate(0), CheckGate::Evaluate { attempt: 2 });
    assert_eq!(c.settle(true), Ok(CheckOutcome::Approved));
}

#[test]
fn expiry_refuses_checks_and_resends() {
    let mut c = pending(5);
    assert_eq!(c.gate(1_000), CheckGate::Refuse(ChallengeStatus::Expired));
    assert_eq!(c.attempts, 0);
    let mut c = pending(5);
    assert_eq!(
        c.resend(1_000, 3),
        Err(ResendRefusal::NotPending(ChallengeStatus::Expired))
    );
}

#[test]
fn resends_stop_at_the_limit() {
    let mut c = pending(5);
    assert_eq!(c.resend(0, 3), Ok(2));
    assert_eq!(c.resend(0, 3), Ok(3));
    assert_eq!(c.resend(0, 3), Err(ResendRefusal::LimitReached));
}

#[test]
fn final_call_statuses() {
    for s in ["completed", "busy", "failed", "no-answer", "canceled"] {
        assert!(is_final_call_status(s));
    }
    for s in ["queued", "ringing", "in-progress", "initiated", ""] {
        assert!(!is_final_call_status(s));
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

#[derive(Debug, Clone)]
enum Op {
    Check(bool),
    Resend,
    Advance(i64),
    Cancel,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(Op::Check),
        1 => Just(Op::Resend),
        1 => (0i64..400).prop_map(Op::Advance),
        1 => Just(Op::Cancel),
    ]
}

proptest! {
    /// Whatever happens, no more attempts are evaluated than the budget,
    /// a challenge is approved at most once, and a terminal state is final.
    #[test]
    fn the_rules_hold_for_any_sequence(max in 1u32..8, ops in proptest::collection::vec(op(), 0..60)) {
        let mut c = pending(max);
        let mut now = 0;
        let mut evaluated = 0;
        let mut approvals = 0;
        let mut terminal: Option<ChallengeStatus> = None;
        for op in ops {
            match op {
                Op::Check(right) => {
                    if let CheckGate::Evaluate { .. } = c.gate(now) {
                        evaluated += 1;
                        if c.settle(right) == Ok(CheckOutcome::Approved) { approvals += 1; }
                    }
                }
                Op::Resend => { let _ = c.resend(now, 3); }
                Op::Advance(ms) => now += ms,
                Op::Cancel => { c.end(now, Ending::Cancelled); }
            }
            let status = c.effective_status(now);
            if let Some(t) = terminal { prop_assert_eq!(status, t); }
            if status != ChallengeStatus::Pending { terminal = Some(status); }
            prop_assert!(c.sends <= 3);
        }
        prop_assert!(evaluated <= max);
        prop_assert!(approvals <= 1);
    }
}

proptest! {
    /// Counters only grow; a resend never touches the attempt budget (a
    /// new secret must not reset the failure count, NIST SP 800-63B);
    /// approval comes only from an evaluated right answer; a wrong answer
    /// reports exactly what is left, and a lock means the budget is spent.
    #[test]
    fn counters_grow_and_outcomes_are_honest(max in 1u32..8, ops in proptest::collection::vec(op(), 0..60)) {
        let mut c = pending(max);
        let mut now = 0;
        for op in ops {
            let before = c.clone();
            match op {
                Op::Check(right) => {
                    if let CheckGate::Evaluate { attempt } = c.gate(now) {
                        prop_assert_eq!(attempt, before.attempts + 1);
                        match c.settle(right) {
                            Ok(CheckOutcome::Approved) => prop_assert!(right),
                            Ok(CheckOutcome::Wrong { attempts_left }) => {
                                prop_assert!(!right);
                                prop_assert_eq!(attempts_left, c.max_attempts - c.attempts);
                                prop_assert!(attempts_left > 0);
                            }
                            Ok(CheckOutcome::Locked) => {
                                prop_assert!(!right);
                                prop_assert_eq!(c.attempts, c.max_attempts);
                            }
                            Err(s) => prop_assert!(false, "settle refused a fresh reservation: {s:?}"),
                        }
                    }
                }
                Op::Resend => {
                    let _ = c.resend(now, 3);
                    prop_assert_eq!(c.attempts, before.attempts);
                }
                Op::Advance(ms) => now += ms,
                Op::Cancel => { c.end(now, Ending::Cancelled); }
            }
            prop_assert!(c.attempts >= before.attempts && c.sends >= before.sends);
            if c.status == ChallengeStatus::Approved && before.status != ChallengeStatus::Approved {
                prop_assert!(matches!(op, Op::Check(true)));
            }
        }
    }

    /// Requests in flight: several reservations may be taken before any
    /// is settled (the race the database must hold against). Still no
    /// more evaluations than the budget, and at most one approval.
    #[test]
    fn interleaved_reservations_never_exceed_the_budget(
        max in 1u32..8,
        steps in proptest::collection::vec((any::<bool>(), any::<bool>()), 0..80),
    ) {
        let mut c = pending(max);
        let mut in_flight = 0u32;
        let mut reserved = 0u32;
        let mut approvals = 0;
        for (gate, right) in steps {
            if gate || in_flight == 0 {
                if let CheckGate::Evaluate { .. } = c.gate(0) {
                    in_flight += 1;
                    reserved += 1;
                }
            } else {
                in_flight -= 1;
                if c.settle(right) == Ok(CheckOutcome::Approved) {
                    approvals += 1;
                }
            }
            prop_assert!(reserved <= max);
            prop_assert!(approvals <= 1);
        }
    }
}
