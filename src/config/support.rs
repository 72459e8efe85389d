//! `[support]`: the desk's lines, severities and hours as written in the
//! file, and their translation into the domain's `Desk`, explaining every
//! mistake (unknown zone, bad or overlapping hours, duplicate digits…).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::language::Language;
use crate::domain::support::{Date, Desk, Hours, Line, LineHours, LineId, Severity, TimeZone};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportSettings {
    /// IANA name, e.g. "Asia/Shanghai"; hours are read on its wall clock.
    pub time_zone: String,
    /// How the zone is said in the hours-in-words ("Beijing time"); by
    /// default the zone's city.
    #[serde(default)]
    pub time_zone_label: Option<LocalText>,
    /// Dates (YYYY-MM-DD) when lines that keep business days are closed.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Two or more: a first menu lets callers whose org has no language pick one.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Tries per menu before the IVR takes the default.
    #[serde(default = "default_menu_attempts")]
    pub menu_attempts: u32,
    #[serde(default, rename = "line")]
    pub lines: Vec<LineSettings>,
}

fn default_menu_attempts() -> u32 {
    3
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSettings {
    pub id: String,
    pub digit: String,
    pub prompt: LocalText,
    #[serde(default)]
    pub severities: Vec<String>,
    pub hours: HoursSettings,
    pub queue: String,
    #[serde(default)]
    pub after_hours_queue: Option<String>,
}

/// One schedule for the line, or one per severity (`[support.line.hours]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HoursSettings {
    One(String),
    BySeverity(BTreeMap<String, String>),
}

/// A text in the default language, or a table by language tag.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LocalText {
    One(String),
    ByLanguage(BTreeMap<String, String>),
}

impl LocalText {
    /// The text in `lang`, else in `default`, else any.
    pub fn get(&self, lang: Language, default: Language) -> &str {
        match self {
            LocalText::One(s) => s,
            LocalText::ByLanguage(map) => {
                let find = |l: Language| {
                    map.iter()
                        .find(|(k, _)| Language::from_tag(k) == Some(l))
                        .map(|(_, v)| v.as_str())
                };
                find(lang)
                    .or_else(|| find(default))
                    .or_else(|| map.values().next().map(String::as_str))
                    .unwrap_or_default()
            }
        }
    }

    fn problems(&self, key: &str, languages: &[Language], out: &mut Vec<String>) {
        match self {
            LocalText::One(s) if s.trim().is_empty() => out.push(format!("{key}: must not be empty")),
            LocalText::One(_) if languages.len() > 1 => out.push(format!(
                "{key}: support.languages offers {} languages; give a table with a text for each, e.g. {{ en = \"…\", zh-CN = \"…\" }}",
                languages.len()
            )),
            LocalText::One(_) => {}
            LocalText::ByLanguage(map) => {
                for k in map.keys() {
                    if Language::from_tag(k).is_none() {
                        out.push(format!("{key}.{k}: not a language pingate speaks (en, es, de, fr, zh-CN)"));
                    }
                }
                for l in languages {
                    if !map.keys().any(|k| Language::from_tag(k) == Some(*l)) {
                        out.push(format!("{key}: no text in {l}, which support.languages offers"));
                    }
                }
            }
        }
    }
}

impl SupportSettings {
    /// The languages of the first menu (empty or one: no language menu).
    pub fn menu_languages(&self) -> Vec<Language> {
        self.languages
            .iter()
            .filter_map(|t| Language::from_tag(t))
            .collect()
    }

    /// The desk, or every mistake (each prefixed with its key).
    pub fn desk(&self) -> Result<Desk, Vec<String>> {
        let mut problems = Vec::new();
        let time_zone = match TimeZone::get(self.time_zone.trim()) {
            Ok(tz) => Some(tz),
            Err(_) => {
                problems.push(format!(
                    "support.time_zone: {:?} is not an IANA time zone name like \"Asia/Shanghai\" or \"Etc/GMT-8\"",
                    self.time_zone
                ));
                None
            }
        };
        let mut holidays = BTreeSet::new();
        for h in &self.holidays {
            match h.parse::<Date>() {
                Ok(d) => {
                    holidays.insert(d);
                }
                Err(_) => problems.push(format!(
                    "support.holidays: {h:?} is not a date like \"2027-02-17\""
                )),
            }
        }
        let languages = self.menu_languages();
        for t in &self.languages {
            if Language::from_tag(t).is_none() {
                problems.push(format!(
                    "support.languages: {t:?} is not a language pingate speaks (en, es, de, fr, zh-CN)"
                ));
            }
        }
        if languages.len() > 9 {
            problems.push("support.languages: at most 9 (one keypad digit each)".into());
        }
        if !(1..=10).contains(&self.menu_attempts) {
            problems.push("support.menu_attempts: must be between 1 and 10".into());
        }
        if let Some(label) = &self.time_zone_label {
            label.problems("support.time_zone_label", &languages, &mut problems);
        }
        if self.lines.is_empty() {
            problems.push("support.line: at least one [[support.line]] is needed".into());
        }
        let mut lines = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            if let Some(line) = l.line(i, &languages, &mut problems) {
                lines.push(line);
            }
        }
        check_unique(&self.lines, &mut problems);
        match time_zone {
            Some(time_zone) if problems.is_empty() => Ok(Desk {
                time_zone,
                time_zone_name: self.time_zone.trim().to_string(),
                holidays,
                lines,
            }),
            _ => Err(problems),
        }
    }

    pub fn line_settings(&self, id: &str) -> Option<&LineSettings> {
        self.lines.iter().find(|l| l.id == id)
    }
}

/// On the lines as written, so a duplicate shows beside other mistakes.
fn check_unique(lines: &[LineSettings], problems: &mut Vec<String>) {
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            if a.digit.trim() == b.digit.trim() {
                problems.push(format!(
                    "support.line: lines {} and {} both use digit {}; each line needs its own key",
                    a.id,
                    b.id,
                    a.digit.trim()
                ));
            }
            if a.id == b.id {
                problems.push(format!("support.line: id {} is used twice", a.id));
            }
        }
    }
}

impl LineSettings {
    fn line(&self, i: usize, languages: &[Language], out: &mut Vec<String>) -> Option<Line> {
        let key = format!("support.line[{i}]");
        let before = out.len();
        let id = LineId::parse(&self.id)
            .map_err(|e| out.push(format!("{key}.id: {:?}: {e}", self.id)))
            .ok();
        let key = format!("support.line[{}]", self.id);
        let digit = match self.digit.trim() {
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => d.chars().next(),
            d => {
                out.push(format!(
                    "{key}.digit: {d:?} must be one keypad digit, 0 to 9"
                ));
                None
            }
        };
        self.prompt
            .problems(&format!("{key}.prompt"), languages, out);
        let severities = self.parse_severities(&key, out);
        let hours = self.parse_hours(&key, &severities, out);
        for (name, q) in [
            ("queue", Some(&self.queue)),
            ("after_hours_queue", self.after_hours_queue.as_ref()),
        ] {
            if let Some(q) = q
                && (q.trim().is_empty() || q.len() > 64)
            {
                out.push(format!(
                    "{key}.{name}: must be a queue name of 1 to 64 characters"
                ));
            }
        }
        if out.len() > before {
            return None;
        }
        Some(Line {
            id: id?,
            digit: digit?,
            severities,
            hours: hours?,
            queue: self.queue.trim().to_string(),
            after_hours_queue: self
                .after_hours_queue
                .as_ref()
                .map(|q| q.trim().to_string()),
        })
    }

    fn parse_severities(&self, key: &str, out: &mut Vec<String>) -> Vec<Severity> {
        let mut list = Vec::new();
        for s in &self.severities {
            match Severity::parse(s.trim()) {
                Ok(v) if list.contains(&v) => {
                    out.push(format!("{key}.severities: {v} is listed twice"))
                }
                Ok(v) => list.push(v),
                Err(e) => out.push(format!("{key}.severities: {e}")),
            }
        }
        if list == [Severity::A] {
            out.push(format!(
                "{key}.severities: a line with A needs another severity to offer callers without the advanced contract"
            ));
        }
        list
    }

    fn parse_hours(
        &self,
        key: &str,
        severities: &[Severity],
        out: &mut Vec<String>,
    ) -> Option<LineHours> {
        let parse = |k: &str, spec: &str, out: &mut Vec<String>| {
            Hours::parse(spec)
                .map_err(|e| out.push(format!("{k}: {spec:?} {e}")))
                .ok()
        };
        match &self.hours {
            HoursSettings::One(spec) => {
                parse(&format!("{key}.hours"), spec, out).map(LineHours::One)
            }
            HoursSettings::BySeverity(_) if severities.is_empty() => {
                out.push(format!(
                    "{key}.hours: hours by severity need severities; without them write one schedule, e.g. hours = \"mon-fri 09:00-18:00\""
                ));
                None
            }
            HoursSettings::BySeverity(map) => {
                let mut by = BTreeMap::new();
                for (k, spec) in map {
                    match Severity::parse(k.trim()) {
                        Ok(s) if severities.contains(&s) => {
                            if let Some(h) = parse(&format!("{key}.hours.{k}"), spec, out) {
                                by.insert(s, h);
                            }
                        }
                        Ok(s) => out.push(format!(
                            "{key}.hours.{s}: the line does not take severity {s} (see severities)"
                        )),
                        Err(e) => out.push(format!("{key}.hours.{k}: {e}")),
                    }
                }
                for s in severities {
                    if !map.keys().any(|k| k.trim() == s.as_str()) {
                        out.push(format!("{key}.hours.{s}: severity {s} has no hours"));
                    }
                }
                Some(LineHours::BySeverity(by))
            }
        }
    }
}
