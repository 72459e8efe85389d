use super::*;
use crate::domain::verification::ChallengeStatus;
use proptest::prelude::*;

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
            c.settle(3 - left, false, false),
            Ok(CheckOutcome::Wrong {
                attempts_left: left
            })
        );
    }
    assert_eq!(c.gate(0), CheckGate::Evaluate { attempt: 3 });
    assert_eq!(
        c.settle(3, false, false),
        Ok(CheckOutcome::Locked {
            step: Step::LockSpent
        })
    );
    assert_eq!(c.gate(0), CheckGate::Refuse(ChallengeStatus::Locked));
}

#[test]
fn a_right_answer_on_the_last_attempt_still_approves() {
    let mut c = pending(2);
    c.gate(0);
    c.settle(1, false, false).unwrap();
    assert_eq!(c.gate(0), CheckGate::Evaluate { attempt: 2 });
    assert_eq!(c.settle(2, true, false), Ok(CheckOutcome::Approved));
}

#[test]
fn expiry_refuses_checks_and_resends() {
    let mut c = pending(5);
    assert_eq!(c.gate(1_000), CheckGate::Expired);
    assert_eq!(c.attempts, 0);
    assert_eq!(c.status, ChallengeStatus::Expired);
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
                    if let CheckGate::Evaluate { attempt } = c.gate(now) {
                        evaluated += 1;
                        if c.settle(attempt, right, false) == Ok(CheckOutcome::Approved) { approvals += 1; }
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
                        match c.settle(attempt, right, false) {
                            Ok(CheckOutcome::Approved) => prop_assert!(right),
                            Ok(CheckOutcome::Wrong { attempts_left }) => {
                                prop_assert!(!right);
                                prop_assert_eq!(attempts_left, c.max_attempts - c.attempts);
                                prop_assert!(attempts_left > 0);
                            }
                            Ok(CheckOutcome::Locked { .. }) => {
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
        let mut in_flight: Vec<u32> = Vec::new();
        let mut reserved = 0u32;
        let mut approvals = 0;
        for (gate, right) in steps {
            if gate || in_flight.is_empty() {
                if let CheckGate::Evaluate { attempt } = c.gate(0) {
                    in_flight.push(attempt);
                    reserved += 1;
                }
            } else {
                let attempt = in_flight.remove(0);
                if c.settle(attempt, right, false) == Ok(CheckOutcome::Approved) {
                    approvals += 1;
                }
            }
            prop_assert!(reserved <= max);
            prop_assert!(approvals <= 1);
        }
    }
}

#[test]
fn a_lockout_locks_whatever_is_left() {
    let mut c = pending(5);
    let CheckGate::Evaluate { attempt } = c.gate(0) else {
        panic!("a fresh challenge is evaluated");
    };
    assert_eq!(
        c.settle(attempt, false, true),
        Ok(CheckOutcome::Locked { step: Step::Lock })
    );
    assert_eq!(c.status, ChallengeStatus::Locked);
}

#[test]
fn a_fully_reserved_budget_refuses_but_stays_pending() {
    let mut c = pending(1);
    assert_eq!(c.gate(0), CheckGate::Evaluate { attempt: 1 });
    assert_eq!(c.gate(0), CheckGate::NoAttemptsLeft);
    assert_eq!(c.status, ChallengeStatus::Pending);
}

#[test]
fn an_ending_call_expires_what_has_run_out_and_ends_the_rest() {
    let c = pending(3);
    assert_eq!(
        c.ending(999, Ending::Cancelled),
        Some(Step::End(Ending::Cancelled))
    );
    assert_eq!(c.ending(1_000, Ending::Superseded), Some(Step::Expire));
    let mut done = pending(3);
    done.status = ChallengeStatus::Approved;
    assert_eq!(done.ending(0, Ending::Cancelled), None);
}

#[test]
fn each_guard_admits_exactly_what_its_step_needs() {
    let c = pending(2);
    assert!(Step::ReserveAttempt.guard(999).admits(&c));
    assert!(!Step::ReserveAttempt.guard(1_000).admits(&c));
    assert!(!Step::LockSpent.guard(0).admits(&c));
    assert!(Step::ReserveSend { max_sends: 2 }.guard(0).admits(&c));
    assert!(!Step::ReserveSend { max_sends: 1 }.guard(0).admits(&c));
    let spent = Challenge {
        attempts: 2,
        ..pending(2)
    };
    assert!(Step::LockSpent.guard(0).admits(&spent));
    assert!(!Step::ReserveAttempt.guard(0).admits(&spent));
}

/// The store writes these guards as its WHERE clause: an expiry applies
/// only once the TTL has passed, and an ending only while it runs, even
/// where the model itself would never ask for the other.
#[test]
fn expiry_and_endings_are_guarded_by_the_ttl() {
    let c = pending(2);
    assert!(!Step::Expire.guard(999).admits(&c));
    assert!(Step::Expire.guard(1_000).admits(&c));
    for how in [Ending::Cancelled, Ending::Superseded] {
        assert!(Step::End(how).guard(999).admits(&c));
        assert!(!Step::End(how).guard(1_000).admits(&c));
    }
}

/// A PIN is delivered only while its challenge is pending and unexpired.
#[test]
fn only_a_live_pending_challenge_wants_its_pin() {
    let c = pending(3);
    assert!(c.wants_pin(999));
    assert!(!c.wants_pin(1_000));
    for status in [
        ChallengeStatus::Approved,
        ChallengeStatus::Locked,
        ChallengeStatus::Cancelled,
        ChallengeStatus::Superseded,
        ChallengeStatus::Expired,
    ] {
        let over = Challenge {
            status,
            ..pending(3)
        };
        assert!(!over.wants_pin(0), "{status:?}");
    }
}

/// Ending a challenge says whether it was still pending, and leaves it in
/// the state its TTL calls for.
#[test]
fn ending_a_challenge_reports_whether_it_was_pending() {
    let mut live = pending(3);
    assert!(live.end(999, Ending::Cancelled));
    assert_eq!(live.status, ChallengeStatus::Cancelled);
    assert!(!live.end(999, Ending::Superseded), "ended once");
    assert_eq!(live.status, ChallengeStatus::Cancelled);
    let mut late = pending(3);
    assert!(late.end(1_000, Ending::Superseded));
    assert_eq!(late.status, ChallengeStatus::Expired);
}
