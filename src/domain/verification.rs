//! How far a call is verified and why a grant was issued: the statuses of
//! calls and challenges, classifying a call by its caller ID, and when a
//! grant is active. Pure. A challenge's own steps are in [`super::challenge`].

use crate::clock::Millis;
use crate::domain::phone::CallerId;
use crate::domain::string_enum::string_enum;

/// How much a registered number is trusted (`security.caller_id_trust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerIdTrust {
    /// Only full STIR/SHAKEN attestation ([`Attestation::Full`]).
    AttestedA,
    /// The registered number alone, whatever the carrier says.
    Any,
}

string_enum! {
    /// The caller ID's STIR/SHAKEN attestation, as each provider's adapter
    /// reads its own report: full (A, verified), partial (B or C, verified),
    /// or none (not reported, failed or unverifiable).
    pub Attestation {
        Full => "full",
        Partial => "partial",
        Unverified => "none",
    }
}

string_enum! {
    /// How far the caller has been verified.
    pub Verification {
        TrustedNumber => "trusted_number",
        PinRequired => "pin_required",
        Verified => "verified",
        Failed => "failed",
    }
}

string_enum! {
    pub CallStatus {
        Active => "active",
        Ended => "ended",
    }
}

string_enum! {
    pub ChallengeStatus {
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
    pub GrantBasis {
        Pin => "pin",
        TrustedNumber => "trusted_number",
    }
}

/// Step 2 of the flow: a registered number with acceptable caller-ID
/// attestation is trusted; everything else must read back a PIN.
pub fn classify_call(
    caller: &CallerId,
    number_is_registered: bool,
    attestation: Attestation,
    trust: CallerIdTrust,
) -> Verification {
    let attested = match trust {
        CallerIdTrust::Any => true,
        CallerIdTrust::AttestedA => attestation == Attestation::Full,
    };
    match caller {
        CallerId::E164(_) if number_is_registered && attested => Verification::TrustedNumber,
        _ => Verification::PinRequired,
    }
}

string_enum! {
    /// How a call ended, whatever provider reported it: the call is over
    /// and its pending challenges end. Providers map their own words here
    /// and report nothing for a call still in progress.
    pub CallEnd {
        Completed => "completed",
        Busy => "busy",
        Failed => "failed",
        NoAnswer => "no-answer",
        Canceled => "canceled",
    }
}

/// A grant is active until it expires or is revoked.
pub fn grant_active(now: Millis, expires_at: Millis, revoked_at: Option<Millis>) -> bool {
    revoked_at.is_none() && now < expires_at
}

#[cfg(test)]
mod tests;
