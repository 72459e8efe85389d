//! Who handles a call, and what that lets an agent do: the agent who first
//! acts on a call (attaches its org, sends a PIN, grants access) handles it
//! until another agent takes it over explicitly; only the handler checks,
//! resends, cancels and grants on it. Who sees a grant, and whether its
//! issuer still vouches for it. Pure: services ask under the call's lock
//! and write what these functions decide.

use crate::clock::Millis;

/// What an agent acting on a call may do, given who handles it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acting<'a> {
    /// Nobody handles the call yet: acting makes the agent its handler.
    Claim,
    /// The agent handles the call.
    Proceed,
    /// Another agent handles it; taking it over is explicit.
    Refuse { handler: &'a str },
}

/// May `agent` act on a call handled by `handled_by`?
pub fn may_act<'a>(handled_by: Option<&'a str>, agent: &str) -> Acting<'a> {
    match handled_by {
        None => Acting::Claim,
        Some(h) if h == agent => Acting::Proceed,
        Some(h) => Acting::Refuse { handler: h },
    }
}

/// What taking a call over changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Takeover<'a> {
    /// The agent already handles it: nothing changes.
    AlreadyHandling,
    /// Nobody handled it: the agent now does.
    Claim,
    /// The agent takes it from `previous`; the call's open challenge stays
    /// as it is (its spent attempts with it), but `previous`'s open grants
    /// on the call end: a grant is for the agent handling the call.
    From { previous: &'a str },
}

impl<'a> Takeover<'a> {
    /// The agent whose open grants on the call this takeover ends.
    pub fn ends_grants_of(&self) -> Option<&'a str> {
        match self {
            Takeover::From { previous } => Some(previous),
            Takeover::AlreadyHandling | Takeover::Claim => None,
        }
    }
}

pub fn take_over<'a>(handled_by: Option<&'a str>, agent: &str) -> Takeover<'a> {
    match may_act(handled_by, agent) {
        Acting::Claim => Takeover::Claim,
        Acting::Proceed => Takeover::AlreadyHandling,
        Acting::Refuse { handler } => Takeover::From { previous: handler },
    }
}

/// An agent sees only the grants issued to them; an admin sees all.
pub fn may_see_grant(viewer: &str, viewer_is_admin: bool, grant_agent: &str) -> bool {
    viewer_is_admin || viewer == grant_agent
}

/// The standing of the principal a grant was issued to, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issuer {
    pub disabled_at: Option<Millis>,
    pub expires_at: Option<Millis>,
    pub rotated_at: Option<Millis>,
}

/// A grant holds only while the agent it was issued to could still act:
/// not disabled, not expired, and the grant issued under the token in use
/// now (a rotation ends the grants issued before it). An unknown issuer
/// vouches for nothing.
pub fn issuer_vouches(now: Millis, grant_created_at: Millis, issuer: Option<Issuer>) -> bool {
    let Some(i) = issuer else { return false };
    i.disabled_at.is_none()
        && i.expires_at.is_none_or(|at| now < at)
        && i.rotated_at.is_none_or(|at| grant_created_at >= at)
}

#[cfg(test)]
mod tests;
