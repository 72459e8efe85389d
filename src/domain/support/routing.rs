//! The routing decision: where a call on a line at a severity goes at an
//! instant, for an org with or without the advanced support contract.

use jiff::Timestamp;

use super::{Desk, Line, Severity};

/// What the org's profile grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgTerms {
    /// The advanced support contract: Severity A is available.
    pub severity_a: bool,
}

/// The caller's choice in the menus.
#[derive(Debug, Clone, Copy)]
pub struct Choice<'a> {
    pub line: &'a Line,
    pub severity: Option<Severity>,
}

/// Where the call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Severity A without the contract: tell the caller and offer this.
    NeedsContract { offer: Option<Severity> },
    /// Inside hours: the line's queue, at the severity's priority.
    Open { queue: &'a str, priority: u32 },
    /// Outside hours: the after-hours queue, or a polite end when none.
    Closed { after_hours_queue: Option<&'a str> },
}

impl Decision<'_> {
    pub fn inside_hours(&self) -> Option<bool> {
        match self {
            Decision::NeedsContract { .. } => None,
            Decision::Open { .. } => Some(true),
            Decision::Closed { .. } => Some(false),
        }
    }
}

/// Decides a call's route. Pure: the same arguments give the same answer.
pub fn route<'a>(desk: &Desk, terms: OrgTerms, choice: Choice<'a>, at: Timestamp) -> Decision<'a> {
    let line = choice.line;
    if choice.severity == Some(Severity::A) && !terms.severity_a {
        return Decision::NeedsContract {
            offer: line.offer_instead_of_a(),
        };
    }
    if is_open(desk, line, choice.severity, at) {
        Decision::Open {
            queue: &line.queue,
            priority: choice.severity.map_or(0, Severity::priority),
        }
    } else {
        Decision::Closed {
            after_hours_queue: line.after_hours_queue.as_deref(),
        }
    }
}

/// Whether the line takes calls at this severity at `at`, read on the
/// desk's wall clock (so DST shifts move the hours with local time).
pub fn is_open(desk: &Desk, line: &Line, severity: Option<Severity>, at: Timestamp) -> bool {
    let local = at.to_zoned_datetime(desk.time_zone.clone());
    let weekday = local.weekday().to_monday_zero_offset() as u8;
    let minute = (local.hour() as u16) * 60 + local.minute() as u16;
    let holiday = desk.holidays.contains(&local.date());
    line.hours_for(severity).is_open(weekday, minute, holiday)
}
