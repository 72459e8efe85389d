//! The neutral reply to a call: what to say, which digits to gather and
//! where to send them, where to connect the caller. Each provider renders
//! it into its own markup (TwiML today); nothing here names a provider.

use std::collections::BTreeMap;

/// The IVR step a gather's digits belong to; providers map each to their
/// own callback URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The organisation's account number (finished with `#`).
    Account,
    Language,
    Line,
    Severity,
    /// The severity menu after Severity A was refused (offering another).
    Offer,
    /// No digits: continue with whatever the call still needs.
    Continue,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Account,
        Step::Language,
        Step::Line,
        Step::Severity,
        Step::Offer,
        Step::Continue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Account => "account",
            Step::Language => "language",
            Step::Line => "line",
            Step::Severity => "severity",
            Step::Offer => "offer",
            Step::Continue => "continue",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Spoken text and the language text-to-speech speaks it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Say {
    pub text: String,
    pub language: String,
}

/// Collect keypad digits while the prompts play; the digits go to `step`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gather {
    pub step: Step,
    /// Stop after this many digits; otherwise `finish_on_key` or the timeout.
    pub num_digits: Option<u8>,
    pub timeout_secs: u32,
    pub finish_on_key: Option<char>,
    pub prompts: Vec<Say>,
    /// Report a timeout with no digits to `step` too (menus with a
    /// default); otherwise the reply's next verb runs.
    pub report_empty: bool,
}

/// A task for a workflow-routed queue: its priority and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub priority: u32,
    pub attributes: BTreeMap<&'static str, String>,
}

/// Put the caller in a queue; with a task, a workflow routes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueue {
    pub queue: String,
    pub task: Option<Task>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Say(Say),
    Gather(Gather),
    Enqueue(Enqueue),
    /// Connect to a number or SIP URI directly.
    Dial(String),
    /// Fetch the next reply from `step` (no digits).
    Continue(Step),
    Hangup,
}

/// A reply, verb by verb.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    pub verbs: Vec<Verb>,
}

impl Reply {
    pub fn new() -> Reply {
        Reply::default()
    }

    pub fn say(mut self, text: impl Into<String>, language: impl Into<String>) -> Reply {
        self.verbs.push(Verb::Say(Say {
            text: text.into(),
            language: language.into(),
        }));
        self
    }

    pub fn then(mut self, verb: Verb) -> Reply {
        self.verbs.push(verb);
        self
    }

    pub fn append(mut self, other: Reply) -> Reply {
        self.verbs.extend(other.verbs);
        self
    }
}
