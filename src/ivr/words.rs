//! A line's hours in words, in the caller's language: "Monday to Friday
//! from 09:00 to 18:00", "每天09:00至24:00".

use crate::domain::support::{DAY_MINUTES, DaySet, Hours, Rule, TimeRange, clock};

use super::prompts::{Phrases, fill};

pub fn hours_in_words(hours: &Hours, p: &Phrases) -> String {
    match hours {
        Hours::AlwaysOpen => p.always_open.to_string(),
        Hours::Weekly(rules) => rules
            .iter()
            .map(|r| rule_in_words(r, p))
            .collect::<Vec<_>>()
            .join(p.list_separator),
    }
}

fn rule_in_words(rule: &Rule, p: &Phrases) -> String {
    let ranges = rule
        .ranges
        .iter()
        .map(|r| range_in_words(*r, p))
        .collect::<Vec<_>>()
        .join(p.and);
    fill(
        p.rule,
        &[("days", &days_in_words(rule.days, p)), ("ranges", &ranges)],
    )
}

fn days_in_words(days: DaySet, p: &Phrases) -> String {
    if days == DaySet::EVERY_DAY {
        return p.every_day.to_string();
    }
    let name = |d: u8| p.days[usize::from(d)];
    days.runs()
        .into_iter()
        .map(|(from, to)| match to - from {
            0 => name(from).to_string(),
            1 => format!("{}{}{}", name(from), p.and, name(to)),
            _ => fill(p.day_span, &[("from", name(from)), ("to", name(to))]),
        })
        .collect::<Vec<_>>()
        .join(p.list_separator)
}

fn range_in_words(r: TimeRange, p: &Phrases) -> String {
    let end = if r.end == DAY_MINUTES {
        p.midnight.to_string()
    } else {
        clock(r.end)
    };
    fill(p.time_span, &[("start", &clock(r.start)), ("end", &end)])
}
