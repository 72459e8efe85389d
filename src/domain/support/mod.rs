//! Support lines, severities and hours: the desk's routing rules as
//! validated values, and the routing decision as a pure function of
//! (desk, org terms, the caller's choice, an instant). No I/O, no clock.

mod hours;
mod routing;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub use hours::{DAY_MINUTES, DaySet, Hours, HoursError, Rule, TimeRange, clock};
pub use jiff::civil::Date;
pub use jiff::tz::TimeZone;
pub use routing::{Choice, Decision, OrgTerms, is_open, route};

/// A technical case's severity: A critical (24×7, advanced contract only),
/// B high, C non-critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    A,
    B,
    C,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a severity: use \"A\", \"B\" or \"C\"")]
pub struct UnknownSeverity(pub String);

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::A, Severity::B, Severity::C];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::A => "A",
            Severity::B => "B",
            Severity::C => "C",
        }
    }

    pub fn parse(s: &str) -> Result<Severity, UnknownSeverity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownSeverity(s.to_string()))
    }

    /// The queue priority (higher is answered first), as TaskRouter reads it.
    pub fn priority(self) -> u32 {
        match self {
            Severity::A => 30,
            Severity::B => 20,
            Severity::C => 10,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line's id: 1 to 32 of `[a-z0-9_-]`; it names the line in audit
/// events, metrics labels and task attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a line id is 1 to 32 of a-z, 0-9, '-' and '_'")]
pub struct LineIdError;

impl LineId {
    pub fn parse(s: &str) -> Result<LineId, LineIdError> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(LineId(s.to_string()))
        } else {
            Err(LineIdError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A line's hours: one schedule, or one per severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineHours {
    One(Hours),
    BySeverity(BTreeMap<Severity, Hours>),
}

/// One support line as the desk runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: LineId,
    /// The keypad digit that picks it in the line menu.
    pub digit: char,
    /// Asked after the line, keyed by place (1 for the first); may be empty.
    pub severities: Vec<Severity>,
    pub hours: LineHours,
    pub queue: String,
    /// Where calls outside hours go; none: the call ends politely.
    pub after_hours_queue: Option<String>,
}

impl Line {
    /// The hours that apply to a call on this line at this severity.
    /// Validation guarantees every listed severity has hours.
    pub fn hours_for(&self, severity: Option<Severity>) -> &Hours {
        match (&self.hours, severity) {
            (LineHours::One(h), _) => h,
            (LineHours::BySeverity(map), Some(s)) => map.get(&s).unwrap_or(&Hours::AlwaysOpen),
            (LineHours::BySeverity(map), None) => map.values().next().unwrap_or(&Hours::AlwaysOpen),
        }
    }

    /// The severity keyed by `key` ('1' is the first listed).
    pub fn severity_for_key(&self, key: &str) -> Option<Severity> {
        let place: usize = key.parse().ok()?;
        place
            .checked_sub(1)
            .and_then(|i| self.severities.get(i))
            .copied()
    }

    /// The key that picks a severity (its place in the list).
    pub fn key_for(&self, severity: Severity) -> Option<usize> {
        self.severities
            .iter()
            .position(|s| *s == severity)
            .map(|i| i + 1)
    }

    /// What a caller who keys nothing gets: the least urgent severity.
    pub fn lowest_severity(&self) -> Option<Severity> {
        self.severities.iter().max().copied()
    }

    /// What a caller without the advanced contract is offered instead of A:
    /// the most urgent other severity of the line.
    pub fn offer_instead_of_a(&self) -> Option<Severity> {
        self.severities
            .iter()
            .filter(|s| **s != Severity::A)
            .min()
            .copied()
    }
}

/// The whole desk: its time zone, the holidays business-day lines close
/// on, and the lines in menu order.
#[derive(Debug, Clone)]
pub struct Desk {
    pub time_zone: TimeZone,
    pub time_zone_name: String,
    pub holidays: BTreeSet<Date>,
    pub lines: Vec<Line>,
}

impl Desk {
    pub fn line_for_digit(&self, digits: &str) -> Option<&Line> {
        let mut chars = digits.chars();
        let (Some(d), None) = (chars.next(), chars.next()) else {
            return None;
        };
        self.lines.iter().find(|l| l.digit == d)
    }

    pub fn line(&self, id: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.id.as_str() == id)
    }
}
