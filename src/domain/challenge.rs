//! A PIN challenge's life: the one place that says what a challenge may do
//! next. The service loads the row, asks here, and writes the chosen
//! [`Step`] with a conditional UPDATE whose condition is the step's
//! [`Guard`], so concurrent requests cannot step around a decision.

use crate::clock::Millis;
use crate::domain::verification::ChallengeStatus;

/// A challenge as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub status: ChallengeStatus,
    pub attempts: u32,
    pub max_attempts: u32,
    pub sends: u32,
    pub expires_at: Millis,
}

/// A change the store applies to one challenge row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// One attempt of the budget, reserved before a PIN is hashed.
    ReserveAttempt,
    /// One more send of the same PIN, up to `max_sends`.
    ReserveSend { max_sends: u32 },
    /// A reserved attempt's PIN matched.
    Approve,
    /// The caller was locked out: the challenge locks whatever is left.
    Lock,
    /// The last attempt was wrong: locks once every attempt is spent.
    LockSpent,
    /// The TTL passed while pending (recorded when someone looks).
    Expire,
    /// The call ended, or a new challenge replaced this one.
    End(Ending),
}

/// How a pending challenge ends without a decision on its PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Cancelled,
    Superseded,
}

/// Where the TTL must stand for a step to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// `now < expires_at`.
    Running(Millis),
    /// `expires_at <= now`.
    Passed(Millis),
}

/// Where the attempt budget must stand for a step to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// `attempts < max_attempts`.
    Left,
    /// `attempts >= max_attempts`.
    Spent,
}

/// A step's precondition, which the store checks in the same statement
/// that applies it (the database holds the budget, not the process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    pub status: ChallengeStatus,
    pub ttl: Option<Ttl>,
    pub budget: Option<Budget>,
    /// `sends < n`.
    pub sends_below: Option<u32>,
}

impl Step {
    /// What the row must satisfy at `now` for this step to apply.
    pub fn guard(self, now: Millis) -> Guard {
        let pending = Guard {
            status: ChallengeStatus::Pending,
            ttl: None,
            budget: None,
            sends_below: None,
        };
        match self {
            Step::ReserveAttempt => Guard {
                ttl: Some(Ttl::Running(now)),
                budget: Some(Budget::Left),
                ..pending
            },
            Step::ReserveSend { max_sends } => Guard {
                ttl: Some(Ttl::Running(now)),
                sends_below: Some(max_sends),
                ..pending
            },
            Step::LockSpent => Guard {
                budget: Some(Budget::Spent),
                ..pending
            },
            Step::Expire => Guard {
                ttl: Some(Ttl::Passed(now)),
                ..pending
            },
            Step::End(_) => Guard {
                ttl: Some(Ttl::Running(now)),
                ..pending
            },
            Step::Approve | Step::Lock => pending,
        }
    }

    /// The status the step writes, or `None` for a step that only counts.
    pub fn target(self) -> Option<ChallengeStatus> {
        match self {
            Step::ReserveAttempt | Step::ReserveSend { .. } => None,
            Step::Approve => Some(ChallengeStatus::Approved),
            Step::Lock | Step::LockSpent => Some(ChallengeStatus::Locked),
            Step::Expire => Some(ChallengeStatus::Expired),
            Step::End(Ending::Cancelled) => Some(ChallengeStatus::Cancelled),
            Step::End(Ending::Superseded) => Some(ChallengeStatus::Superseded),
        }
    }
}

impl Guard {
    /// Whether `c` satisfies the guard (what the store's WHERE says).
    pub fn admits(&self, c: &Challenge) -> bool {
        c.status == self.status
            && match self.ttl {
                Some(Ttl::Running(now)) => now < c.expires_at,
                Some(Ttl::Passed(now)) => c.expires_at <= now,
                None => true,
            }
            && match self.budget {
                Some(Budget::Left) => c.attempts < c.max_attempts,
                Some(Budget::Spent) => c.attempts >= c.max_attempts,
                None => true,
            }
            && self.sends_below.is_none_or(|n| c.sends < n)
    }
}

/// What a PIN check may do, decided before any hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckGate {
    /// Evaluate the PIN; this uses attempt number `attempt` of the budget.
    Evaluate { attempt: u32 },
    /// Pending, but every attempt is reserved by checks still being
    /// evaluated: refused, and the challenge stays pending.
    NoAttemptsLeft,
    /// The TTL passed: record the expiry ([`Step::Expire`]) and refuse.
    Expired,
    /// Refused without evaluating; the challenge is in this state.
    Refuse(ChallengeStatus),
}

/// The result of an evaluated attempt, and the step that records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Approved,
    Wrong {
        attempts_left: u32,
    },
    /// The budget is spent or the caller is locked out; `step` locks it.
    Locked {
        step: Step,
    },
}

impl CheckOutcome {
    /// The step to write for this outcome, if any.
    pub fn step(self) -> Option<Step> {
        match self {
            CheckOutcome::Approved => Some(Step::Approve),
            CheckOutcome::Wrong { .. } => None,
            CheckOutcome::Locked { step } => Some(step),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendRefusal {
    LimitReached,
    NotPending(ChallengeStatus),
}

impl Challenge {
    /// The status as of `now`: a pending challenge past its TTL is expired.
    pub fn effective_status(&self, now: Millis) -> ChallengeStatus {
        if self.status == ChallengeStatus::Pending && now >= self.expires_at {
            ChallengeStatus::Expired
        } else {
            self.status
        }
    }

    /// Whether its PIN should still be delivered.
    pub fn wants_pin(&self, now: Millis) -> bool {
        self.effective_status(now) == ChallengeStatus::Pending
    }

    /// Applies `step` to this copy if its guard admits it; the store does
    /// the same in one statement. Returns whether it applied.
    pub fn apply(&mut self, step: Step, now: Millis) -> bool {
        if !step.guard(now).admits(self) {
            return false;
        }
        match step {
            Step::ReserveAttempt => self.attempts += 1,
            Step::ReserveSend { .. } => self.sends += 1,
            _ => {}
        }
        if let Some(status) = step.target() {
            self.status = status;
        }
        true
    }

    /// Reserves one attempt of the budget, or says why no PIN may be
    /// evaluated.
    pub fn gate(&mut self, now: Millis) -> CheckGate {
        if self.apply(Step::ReserveAttempt, now) {
            return CheckGate::Evaluate {
                attempt: self.attempts,
            };
        }
        match self.effective_status(now) {
            ChallengeStatus::Pending => CheckGate::NoAttemptsLeft,
            ChallengeStatus::Expired => {
                self.apply(Step::Expire, now);
                CheckGate::Expired
            }
            other => CheckGate::Refuse(other),
        }
    }

    /// Decides an evaluated attempt (number `attempt` of the budget):
    /// approved if the PIN matched, else wrong until the budget is spent or
    /// the caller was locked out, and applies the outcome's step to this
    /// copy. Only a still-pending challenge is approved (the store's guard
    /// says the same), so two right answers approve once: the second gets
    /// the status it found. A wrong answer is reported whatever the status.
    pub fn settle(
        &mut self,
        attempt: u32,
        matched: bool,
        locked_out: bool,
    ) -> Result<CheckOutcome, ChallengeStatus> {
        let outcome = if matched {
            CheckOutcome::Approved
        } else if locked_out {
            CheckOutcome::Locked { step: Step::Lock }
        } else if attempt >= self.max_attempts {
            CheckOutcome::Locked {
                step: Step::LockSpent,
            }
        } else {
            CheckOutcome::Wrong {
                attempts_left: self.max_attempts - attempt,
            }
        };
        // None of these steps has a TTL in its guard: `now` is not read.
        let applied = outcome.step().is_none_or(|step| self.apply(step, 0));
        if outcome == CheckOutcome::Approved && !applied {
            return Err(self.status);
        }
        Ok(outcome)
    }

    /// A resend delivers the same PIN while pending, up to `max_sends`.
    pub fn resend(&mut self, now: Millis, max_sends: u32) -> Result<u32, ResendRefusal> {
        if self.apply(Step::ReserveSend { max_sends }, now) {
            return Ok(self.sends);
        }
        match self.effective_status(now) {
            ChallengeStatus::Pending => Err(ResendRefusal::LimitReached),
            other => Err(ResendRefusal::NotPending(other)),
        }
    }

    /// How a pending challenge ends when its call ends or a new challenge
    /// replaces it: `End(how)` while its TTL runs, `Expire` once it has
    /// passed (an expired challenge stays expired); `None` if it is over.
    pub fn ending(&self, now: Millis, how: Ending) -> Option<Step> {
        [Step::End(how), Step::Expire]
            .into_iter()
            .find(|step| step.guard(now).admits(self))
    }

    /// Ends a pending challenge (see [`Challenge::ending`]); true if it
    /// was pending.
    pub fn end(&mut self, now: Millis, how: Ending) -> bool {
        match self.ending(now, how) {
            Some(step) => self.apply(step, now),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests;
