//! The call → challenge → grant state machine. Pure: it takes the facts
//! (caller ID, attestation, `now`, whether a PIN matched) and returns
//! decisions. The store applies the same rules with conditional UPDATEs so
//! concurrent requests cannot step around them.

use crate::clock::Millis;
use crate::config::CallerIdTrust;
use crate::domain::phone::CallerId;

/// STIR/SHAKEN full attestation as Twilio reports it in `StirVerstat`.
pub const FULL_ATTESTATION: &str = "TN-Validation-Passed-A";

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// How far the caller has been verified.
    Verification {
        TrustedNumber => "trusted_number",
        PinRequired => "pin_required",
        Verified => "verified",
        Failed => "failed",
    }
}

string_enum! {
    CallStatus {
        Active => "active",
        Ended => "ended",
    }
}

string_enum! {
    ChallengeStatus {
        Pending => "pending",
        Approved => "approved",
        Expired => "expired",
        Locked => "locked",
        Cancelled => "cancelled",
        Superseded => "superseded",
    }
}

string_enum! {
    /// Why a grant was issued.
    GrantBasis {
        Pin => "pin",
        TrustedNumber => "trusted_number",
    }
}

/// Step 2 of the flow: a registered number with acceptable caller-ID
/// attestation is trusted; everything else must read back a PIN.
pub fn classify_call(
    caller: &CallerId,
    number_is_registered: bool,
    attestation: Option<&str>,
    trust: CallerIdTrust,
) -> Verification {
    let attested = match trust {
        CallerIdTrust::Any => true,
        CallerIdTrust::AttestedA => attestation.map(str::trim) == Some(FULL_ATTESTATION),
    };
    match caller {
        CallerId::E164(_) if number_is_registered && attested => Verification::TrustedNumber,
        _ => Verification::PinRequired,
    }
}

/// A challenge as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub status: ChallengeStatus,
    pub attempts: u32,
    pub max_attempts: u32,
    pub sends: u32,
    pub expires_at: Millis,
}

/// What a PIN check may do, decided before any hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckGate {
    /// Evaluate the PIN; this uses attempt number `attempt` of the budget.
    Evaluate { attempt: u32 },
    /// Refused without evaluating; the challenge is (now) in this state.
    Refuse(ChallengeStatus),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Approved,
    Wrong { attempts_left: u32 },
    Locked,
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

    /// Reserves one attempt of the budget (the store does this with one
    /// conditional UPDATE), or says why no PIN may be evaluated.
    pub fn gate(&mut self, now: Millis) -> CheckGate {
        match self.effective_status(now) {
            ChallengeStatus::Pending if self.attempts < self.max_attempts => {
                self.attempts += 1;
                CheckGate::Evaluate {
                    attempt: self.attempts,
                }
            }
            ChallengeStatus::Pending => {
                self.status = ChallengeStatus::Locked;
                CheckGate::Refuse(ChallengeStatus::Locked)
            }
            other => {
                self.status = other;
                CheckGate::Refuse(other)
            }
        }
    }

    /// Applies the result of an evaluated attempt. Only a still-pending
    /// challenge can be approved, so two right answers approve once.
    pub fn settle(&mut self, matched: bool) -> Result<CheckOutcome, ChallengeStatus> {
        if self.status != ChallengeStatus::Pending {
            return Err(self.status);
        }
        if matched {
            self.status = ChallengeStatus::Approved;
            return Ok(CheckOutcome::Approved);
        }
        if self.attempts >= self.max_attempts {
            self.status = ChallengeStatus::Locked;
            Ok(CheckOutcome::Locked)
        } else {
            Ok(CheckOutcome::Wrong {
                attempts_left: self.max_attempts - self.attempts,
            })
        }
    }

    /// A resend delivers the same PIN while pending, up to `max_sends`.
    pub fn resend(&mut self, now: Millis, max_sends: u32) -> Result<u32, ResendRefusal> {
        match self.effective_status(now) {
            ChallengeStatus::Pending if self.sends < max_sends => {
                self.sends += 1;
                Ok(self.sends)
            }
            ChallengeStatus::Pending => Err(ResendRefusal::LimitReached),
            other => Err(ResendRefusal::NotPending(other)),
        }
    }

    /// Ends a pending challenge (call ended, or a new one replaced it).
    /// Only these two endings exist: approval needs a checked PIN.
    pub fn end(&mut self, now: Millis, how: Ending) -> bool {
        if self.effective_status(now) == ChallengeStatus::Pending {
            self.status = match how {
                Ending::Cancelled => ChallengeStatus::Cancelled,
                Ending::Superseded => ChallengeStatus::Superseded,
            };
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Cancelled,
    Superseded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendRefusal {
    LimitReached,
    NotPending(ChallengeStatus),
}

/// Twilio's final call statuses: the call is over, pending challenges end.
pub fn is_final_call_status(status: &str) -> bool {
    matches!(
        status,
        "completed" | "busy" | "failed" | "no-answer" | "canceled"
    )
}

/// A grant is active until it expires or is revoked.
pub fn grant_active(now: Millis, expires_at: Millis, revoked_at: Option<Millis>) -> bool {
    revoked_at.is_none() && now < expires_at
}

#[cfg(test)]
#[path = "verification_tests.rs"]
mod tests;
