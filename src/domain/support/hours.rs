//! Opening hours as configured (`24x7`, `daily 09:00-24:00`,
//! `mon-fri 09:00-12:00, 13:00-18:00; sat 10:00-14:00`), parsed once and
//! asked "open at this local weekday and minute?". Wall-clock only: the
//! time zone is applied by the caller (routing), so this stays arithmetic.

use std::fmt;

/// Minutes in a day; `24:00` is this value, the end of the day.
pub const DAY_MINUTES: u16 = 24 * 60;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A set of weekdays, Monday = 0 … Sunday = 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DaySet(u8);

impl DaySet {
    pub const EVERY_DAY: DaySet = DaySet(0b111_1111);

    pub fn contains(self, monday_zero: u8) -> bool {
        monday_zero < 7 && self.0 & (1 << monday_zero) != 0
    }

    /// Days in order, Monday first.
    pub fn days(self) -> impl Iterator<Item = u8> {
        (0..7).filter(move |d| self.contains(*d))
    }

    /// Consecutive runs (`mon-fri`, `sat`), Monday first, for words.
    pub fn runs(self) -> Vec<(u8, u8)> {
        let mut runs: Vec<(u8, u8)> = Vec::new();
        for d in self.days() {
            match runs.last_mut() {
                Some((_, end)) if *end + 1 == d => *end = d,
                _ => runs.push((d, d)),
            }
        }
        runs
    }
}

/// `start..end` in minutes after local midnight; `end` may be 1440 (24:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    pub start: u16,
    pub end: u16,
}

impl TimeRange {
    pub fn contains(self, minute: u16) -> bool {
        self.start <= minute && minute < self.end
    }

    fn overlaps(self, other: TimeRange) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", clock(self.start), clock(self.end))
    }
}

/// `HH:MM` for a minute of the day (1440 is `24:00`).
pub fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// One `days ranges` part of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub days: DaySet,
    pub ranges: Vec<TimeRange>,
}

impl Rule {
    /// Rules limited to some weekdays follow business days, so they close
    /// on holidays; an every-day rule runs 365 days a year.
    pub fn keeps_business_days(&self) -> bool {
        self.days != DaySet::EVERY_DAY
    }
}

/// When a line (or one severity of it) takes calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hours {
    AlwaysOpen,
    Weekly(Vec<Rule>),
}

/// What is wrong with an hours string, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("is empty; write e.g. \"24x7\", \"daily 09:00-24:00\" or \"mon-fri 09:00-18:00\"")]
    Empty,
    #[error("{0:?} has no time ranges; write days then ranges, e.g. \"mon-fri 09:00-18:00\"")]
    NoRanges(String),
    #[error(
        "{0:?} is not a day: use daily, mon, tue, wed, thu, fri, sat, sun or a span like mon-fri"
    )]
    UnknownDay(String),
    #[error("{0:?} is not a time range like 09:00-18:00")]
    BadRange(String),
    #[error("{0:?} is not a time of day from 00:00 to 24:00")]
    BadTime(String),
    #[error(
        "{0} is empty or runs backwards; a range ends after it starts (hours past midnight are a second range, e.g. 00:00-02:00 on the next day)"
    )]
    EmptyRange(TimeRange),
    #[error("{first} and {second} overlap on {day}")]
    Overlap {
        day: &'static str,
        first: TimeRange,
        second: TimeRange,
    },
}

impl Hours {
    pub fn parse(spec: &str) -> Result<Hours, HoursError> {
        let spec = spec.trim().to_ascii_lowercase();
        if spec.is_empty() {
            return Err(HoursError::Empty);
        }
        if spec == "24x7" {
            return Ok(Hours::AlwaysOpen);
        }
        let rules = spec
            .split(';')
            .map(parse_rule)
            .collect::<Result<Vec<_>, _>>()?;
        check_overlaps(&rules)?;
        Ok(Hours::Weekly(rules))
    }

    /// Open at this local wall-clock moment? `weekday` is Monday = 0.
    pub fn is_open(&self, weekday: u8, minute: u16, holiday: bool) -> bool {
        match self {
            Hours::AlwaysOpen => true,
            Hours::Weekly(rules) => rules.iter().any(|r| {
                !(holiday && r.keeps_business_days())
                    && r.days.contains(weekday)
                    && r.ranges.iter().any(|t| t.contains(minute))
            }),
        }
    }

    pub fn rules(&self) -> &[Rule] {
        match self {
            Hours::AlwaysOpen => &[],
            Hours::Weekly(rules) => rules,
        }
    }
}

fn parse_rule(rule: &str) -> Result<Rule, HoursError> {
    let rule = rule.trim();
    let Some((days, ranges)) = rule.split_once(char::is_whitespace) else {
        return Err(if rule.is_empty() {
            HoursError::Empty
        } else {
            HoursError::NoRanges(rule.to_string())
        });
    };
    let days = parse_days(days)?;
    let ranges = ranges
        .split(',')
        .map(|r| parse_range(r.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rule { days, ranges })
}

fn parse_days(days: &str) -> Result<DaySet, HoursError> {
    if days == "daily" {
        return Ok(DaySet::EVERY_DAY);
    }
    let day = |name: &str| {
        DAY_NAMES
            .iter()
            .position(|d| *d == name)
            .map(|i| i as u8)
            .ok_or_else(|| HoursError::UnknownDay(name.to_string()))
    };
    let mut set = 0u8;
    for item in days.split(',') {
        let (from, to) = match item.split_once('-') {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(item)?, day(item)?),
        };
        // A span may wrap the week end: fri-mon is Friday to Monday.
        let mut d = from;
        loop {
            set |= 1 << d;
            if d == to {
                break;
            }
            d = (d + 1) % 7;
        }
    }
    Ok(DaySet(set))
}

fn parse_range(range: &str) -> Result<TimeRange, HoursError> {
    let (start, end) = range
        .split_once('-')
        .ok_or_else(|| HoursError::BadRange(range.to_string()))?;
    let (start, end) = (parse_time(start.trim())?, parse_time(end.trim())?);
    let r = TimeRange { start, end };
    if start >= end || start == DAY_MINUTES {
        return Err(HoursError::EmptyRange(r));
    }
    Ok(r)
}

fn parse_time(t: &str) -> Result<u16, HoursError> {
    let bad = || HoursError::BadTime(t.to_string());
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn check_overlaps(rules: &[Rule]) -> Result<(), HoursError> {
    for day in 0..7u8 {
        let on_day: Vec<TimeRange> = rules
            .iter()
            .filter(|r| r.days.contains(day))
            .flat_map(|r| r.ranges.iter().copied())
            .collect();
        for (i, a) in on_day.iter().enumerate() {
            if let Some(b) = on_day[i + 1..].iter().find(|b| a.overlaps(**b)) {
                return Err(HoursError::Overlap {
                    day: DAY_NAMES[usize::from(day)],
                    first: *a,
                    second: *b,
                });
            }
        }
    }
    Ok(())
}
