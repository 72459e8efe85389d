//! The menus as one pure step: from the call's progress, the caller's keys
//! and the instant come the next progress, what to audit, and the reply.
//! Order: [language] → line → [severity] → route. A step whose answer is
//! already recorded just presents what the call still needs, so a replayed
//! gather changes nothing.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::prompts::{Phrases, fill, phrases};
use super::reply::{Enqueue, Gather, Reply, Step, Task, Verb};
use super::words::hours_in_words;
use crate::config::SupportSettings;
use crate::domain::language::Language;
use crate::domain::support::{Choice, Decision, Desk, Line, LineId, OrgTerms, Severity, route};

/// Everything the menus are built from; borrowed from settings.
pub struct Menus<'a> {
    pub desk: &'a Desk,
    pub support: &'a SupportSettings,
    pub default_language: Language,
    /// The speech code for the default language (`voice.language`).
    pub default_speech: &'a str,
    /// Where a call goes when the line menu gives up (`voice.queue`).
    pub fallback_queue: &'a str,
}

/// What the call has chosen so far (stored on the call).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub language: Option<Language>,
    pub line: Option<String>,
    pub severity: Option<Severity>,
    pub inside_hours: Option<bool>,
    /// Tries on the menu now being asked.
    pub menu_attempts: u32,
}

/// Who is calling, as far as routing cares.
pub struct Caller<'a> {
    pub call_id: &'a str,
    pub org_id: Option<&'a str>,
    pub terms: OrgTerms,
    pub org_language: Option<Language>,
    pub verification: &'a str,
}

pub enum Input<'a> {
    Continue,
    Keys { step: Step, digits: &'a str },
}

/// One thing worth an audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuEvent {
    LanguageChosen {
        language: Language,
        defaulted: bool,
    },
    InvalidKey {
        step: Step,
        attempt: u32,
    },
    LineChosen {
        line: LineId,
    },
    SeverityRefused {
        offered: Option<Severity>,
    },
    Routed {
        line: LineId,
        severity: Option<Severity>,
        defaulted: bool,
        inside_hours: bool,
        queue: Option<String>,
        priority: u32,
    },
    GaveUp {
        step: Step,
        queue: String,
    },
}

pub struct Outcome {
    pub progress: Progress,
    pub events: Vec<MenuEvent>,
    pub reply: Reply,
}

impl Menus<'_> {
    pub fn advance(
        &self,
        caller: &Caller<'_>,
        progress: &Progress,
        input: Input<'_>,
        at: Timestamp,
    ) -> Outcome {
        let mut o = Outcome {
            progress: progress.clone(),
            events: Vec::new(),
            reply: Reply::new(),
        };
        let digits = match input {
            Input::Keys { step, digits } => Some((step, digits.trim().trim_end_matches('#'))),
            Input::Continue => None,
        };
        match digits {
            Some((Step::Language, keys)) if self.needs_language(caller, progress) => {
                self.on_language(caller, &mut o, keys, at);
            }
            Some((Step::Line, keys)) if self.pending_line(progress) => {
                self.on_line(caller, &mut o, keys, at);
            }
            Some((step @ (Step::Severity | Step::Offer), keys))
                if self.pending_severity(progress).is_some() =>
            {
                self.on_severity(caller, &mut o, keys, step == Step::Offer, at);
            }
            _ => self.next(caller, &mut o, at),
        }
        o
    }

    /// The call's language: chosen, the org's, or the desk's default.
    pub fn language(&self, caller: &Caller<'_>, progress: &Progress) -> Language {
        progress
            .language
            .or(caller.org_language)
            .unwrap_or(self.default_language)
    }

    pub fn speech(&self, language: Language) -> String {
        if language == self.default_language {
            self.default_speech.to_string()
        } else {
            language.speech_code().to_string()
        }
    }

    fn needs_language(&self, caller: &Caller<'_>, p: &Progress) -> bool {
        p.language.is_none()
            && caller.org_language.is_none()
            && self.support.menu_languages().len() > 1
    }

    fn pending_line(&self, p: &Progress) -> bool {
        p.line.is_none() && p.menu_attempts < self.support.menu_attempts
    }

    /// The line whose severity is still to be asked.
    fn pending_severity(&self, p: &Progress) -> Option<&Line> {
        let line = self.desk.line(p.line.as_deref()?)?;
        (p.inside_hours.is_none() && p.severity.is_none() && !line.severities.is_empty())
            .then_some(line)
    }

    /// Presents whatever the call still needs, or its route once decided.
    fn next(&self, caller: &Caller<'_>, o: &mut Outcome, at: Timestamp) {
        let lang = self.language(caller, &o.progress);
        let p = phrases(lang);
        if self.needs_language(caller, &o.progress) {
            let reply = std::mem::take(&mut o.reply).then(self.language_menu());
            o.reply = reply;
            return;
        }
        let line_id = o.progress.line.clone();
        let Some(line) = line_id.as_deref().and_then(|id| self.desk.line(id)) else {
            if o.progress.menu_attempts >= self.support.menu_attempts || line_id.is_some() {
                // Audited when it happened (or now, for a line since removed
                // from the configuration); a replay only repeats the answer.
                let first_time = line_id.is_some();
                self.give_up(o, Step::Line, lang, first_time);
            } else {
                o.reply = std::mem::take(&mut o.reply).then(self.line_menu(lang));
            }
            return;
        };
        match o.progress.inside_hours {
            Some(inside) => {
                let severity = o.progress.severity;
                let reply = self.routed_reply(caller, line, severity, inside, lang);
                o.reply = std::mem::take(&mut o.reply).append(reply);
            }
            None if !line.severities.is_empty() && o.progress.severity.is_none() => {
                let g = self.severity_menu(line, lang, p, None);
                o.reply = std::mem::take(&mut o.reply).then(g);
            }
            None => self.decide(caller, o, line, o.progress.severity, false, at),
        }
    }

    fn on_language(&self, caller: &Caller<'_>, o: &mut Outcome, keys: &str, at: Timestamp) {
        let offered = self.support.menu_languages();
        let chosen = keys
            .parse::<usize>()
            .ok()
            .and_then(|k| k.checked_sub(1))
            .and_then(|i| offered.get(i).copied());
        let (language, defaulted) = match chosen {
            Some(l) => (l, false),
            None if keys.is_empty()
                || o.progress.menu_attempts + 1 >= self.support.menu_attempts =>
            {
                (offered[0], true)
            }
            None => {
                self.invalid(o, Step::Language, self.default_language);
                o.reply = std::mem::take(&mut o.reply).then(self.language_menu());
                return;
            }
        };
        o.progress.language = Some(language);
        o.progress.menu_attempts = 0;
        o.events.push(MenuEvent::LanguageChosen {
            language,
            defaulted,
        });
        self.next(caller, o, at);
    }

    fn on_line(&self, caller: &Caller<'_>, o: &mut Outcome, keys: &str, at: Timestamp) {
        let lang = self.language(caller, &o.progress);
        let Some(line) = self.desk.line_for_digit(keys) else {
            self.invalid(o, Step::Line, lang);
            if o.progress.menu_attempts >= self.support.menu_attempts {
                self.give_up(o, Step::Line, lang, true);
            } else {
                o.reply = std::mem::take(&mut o.reply).then(self.line_menu(lang));
            }
            return;
        };
        o.progress.line = Some(line.id.as_str().to_string());
        o.progress.menu_attempts = 0;
        o.events.push(MenuEvent::LineChosen {
            line: line.id.clone(),
        });
        if line.severities.is_empty() {
            self.decide(caller, o, line, None, false, at);
        } else {
            let g = self.severity_menu(line, lang, phrases(lang), None);
            o.reply = std::mem::take(&mut o.reply).then(g);
        }
    }

    fn on_severity(
        &self,
        caller: &Caller<'_>,
        o: &mut Outcome,
        keys: &str,
        offer: bool,
        at: Timestamp,
    ) {
        let Some(line) = self.pending_severity(&o.progress) else {
            return;
        };
        let lang = self.language(caller, &o.progress);
        let fallback = if offer {
            line.offer_instead_of_a()
        } else {
            line.lowest_severity()
        };
        let (severity, defaulted) = match line.severity_for_key(keys) {
            Some(s) => (Some(s), false),
            None if keys.is_empty() => (fallback, true),
            None => {
                self.invalid(o, Step::Severity, lang);
                if o.progress.menu_attempts >= self.support.menu_attempts {
                    (fallback, true)
                } else {
                    let g = self.severity_menu(line, lang, phrases(lang), None);
                    o.reply = std::mem::take(&mut o.reply).then(g);
                    return;
                }
            }
        };
        self.decide(caller, o, line, severity, defaulted, at);
    }

    /// Asks the domain where the call goes and answers accordingly.
    fn decide(
        &self,
        caller: &Caller<'_>,
        o: &mut Outcome,
        line: &Line,
        severity: Option<Severity>,
        defaulted: bool,
        at: Timestamp,
    ) {
        let lang = self.language(caller, &o.progress);
        let p = phrases(lang);
        let choice = Choice { line, severity };
        let decision = route(self.desk, caller.terms, choice, at);
        let (inside, queue, priority) = match decision {
            Decision::NeedsContract { offer: offered } => {
                o.events.push(MenuEvent::SeverityRefused { offered });
                o.progress.menu_attempts += 1;
                if o.progress.menu_attempts >= self.support.menu_attempts || offered.is_none() {
                    let instead = offered
                        .or(line.lowest_severity())
                        .filter(|s| *s != Severity::A);
                    return self.decide(caller, o, line, instead, true, at);
                }
                let speech = self.speech(lang);
                let g = self.severity_menu(line, lang, p, offered);
                o.reply = std::mem::take(&mut o.reply)
                    .say(p.contract_needed, speech)
                    .then(g);
                return;
            }
            Decision::Open { queue, priority } => (true, Some(queue.to_string()), priority),
            Decision::Closed { after_hours_queue } => (
                false,
                after_hours_queue.map(str::to_string),
                severity.map_or(0, Severity::priority),
            ),
        };
        o.progress.severity = severity;
        o.progress.inside_hours = Some(inside);
        // The call records the language it was served in, chosen or the org's.
        o.progress.language = Some(lang);
        o.progress.menu_attempts = 0;
        o.events.push(MenuEvent::Routed {
            line: line.id.clone(),
            severity,
            defaulted,
            inside_hours: inside,
            queue,
            priority,
        });
        let reply = self.routed_reply(caller, line, severity, inside, lang);
        o.reply = std::mem::take(&mut o.reply).append(reply);
    }

    /// The reply for a decided route (also for a replayed gather).
    fn routed_reply(
        &self,
        caller: &Caller<'_>,
        line: &Line,
        severity: Option<Severity>,
        inside: bool,
        lang: Language,
    ) -> Reply {
        let p = phrases(lang);
        let speech = self.speech(lang);
        let task = |queue: &str| Task {
            priority: severity.map_or(0, Severity::priority),
            attributes: BTreeMap::from([
                ("call_id", caller.call_id.to_string()),
                ("inside_hours", inside.to_string()),
                ("language", lang.tag().to_string()),
                ("line", line.id.as_str().to_string()),
                ("org", caller.org_id.unwrap_or_default().to_string()),
                ("queue", queue.to_string()),
                (
                    "severity",
                    severity.map(|s| s.as_str()).unwrap_or_default().to_string(),
                ),
                ("verification", caller.verification.to_string()),
            ]),
        };
        let enqueue = |queue: &str| {
            Verb::Enqueue(Enqueue {
                queue: queue.to_string(),
                task: Some(task(queue)),
            })
        };
        if inside {
            return Reply::new()
                .say(p.connecting, speech)
                .then(enqueue(&line.queue));
        }
        let hours = hours_in_words(line.hours_for(severity), p);
        let zone = self.zone_label(lang);
        let closed = fill(p.closed, &[("hours", &hours), ("zone", &zone)]);
        let reply = Reply::new().say(closed, speech.clone());
        match &line.after_hours_queue {
            Some(q) => reply.say(p.callbacks, speech).then(enqueue(q)),
            None => reply.say(p.goodbye, speech).then(Verb::Hangup),
        }
    }

    fn zone_label(&self, lang: Language) -> String {
        match &self.support.time_zone_label {
            Some(label) => label.get(lang, self.default_language).to_string(),
            None => {
                let city = self
                    .desk
                    .time_zone_name
                    .rsplit('/')
                    .next()
                    .unwrap_or_default();
                city.replace('_', " ")
            }
        }
    }

    fn invalid(&self, o: &mut Outcome, step: Step, lang: Language) {
        o.progress.menu_attempts += 1;
        o.events.push(MenuEvent::InvalidKey {
            step,
            attempt: o.progress.menu_attempts,
        });
        let speech = self.speech(lang);
        o.reply = std::mem::take(&mut o.reply).say(phrases(lang).invalid_choice, speech);
    }

    fn give_up(&self, o: &mut Outcome, step: Step, lang: Language, audit: bool) {
        let queue = self.fallback_queue.to_string();
        if audit {
            o.events.push(MenuEvent::GaveUp {
                step,
                queue: queue.clone(),
            });
        }
        let speech = self.speech(lang);
        o.reply = std::mem::take(&mut o.reply)
            .say(phrases(lang).menu_gave_up, speech)
            .then(Verb::Enqueue(Enqueue { queue, task: None }));
    }

    fn gather(step: Step, prompts: Vec<super::reply::Say>, report_empty: bool) -> Verb {
        Verb::Gather(Gather {
            step,
            num_digits: Some(1),
            timeout_secs: 6,
            finish_on_key: None,
            prompts,
            report_empty,
        })
    }

    /// Each language offered in its own words and voice.
    fn language_menu(&self) -> Verb {
        let prompts = self
            .support
            .menu_languages()
            .into_iter()
            .enumerate()
            .map(|(i, l)| super::reply::Say {
                text: fill(
                    phrases(l).language_option,
                    &[("digit", &(i + 1).to_string())],
                ),
                language: self.speech(l),
            })
            .collect();
        Self::gather(Step::Language, prompts, true)
    }

    fn line_menu(&self, lang: Language) -> Verb {
        let speech = self.speech(lang);
        let prompts = self
            .desk
            .lines
            .iter()
            .filter_map(|l| self.support.line_settings(l.id.as_str()))
            .map(|l| super::reply::Say {
                text: l.prompt.get(lang, self.default_language).to_string(),
                language: speech.clone(),
            })
            .collect();
        // No key is not a choice here: the gather reports it as invalid.
        Self::gather(Step::Line, prompts, true)
    }

    /// The severity menu; after a refusal, only the severity on offer.
    fn severity_menu(
        &self,
        line: &Line,
        lang: Language,
        p: &Phrases,
        offer: Option<Severity>,
    ) -> Verb {
        let speech = self.speech(lang);
        let option = |s: Severity| {
            let digit = line.key_for(s).unwrap_or_default().to_string();
            let text = match offer {
                Some(_) => fill(p.offer, &[("severity", s.as_str()), ("digit", &digit)]),
                None => fill(
                    p.severity_option,
                    &[
                        ("severity", s.as_str()),
                        ("meaning", p.severity_meaning[s as usize]),
                        ("digit", &digit),
                    ],
                ),
            };
            super::reply::Say {
                text,
                language: speech.clone(),
            }
        };
        let prompts = match offer {
            Some(s) => vec![option(s)],
            None => line.severities.iter().map(|s| option(*s)).collect(),
        };
        let step = if offer.is_some() {
            Step::Offer
        } else {
            Step::Severity
        };
        Self::gather(step, prompts, true)
    }
}
