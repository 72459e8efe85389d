//! One configuration problem, in words: the key, what is wrong with its
//! value, and where it was written (file and line, or the environment
//! variable), so the operator knows exactly what to change.

use std::fmt;

use super::tree::Origin;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// A key pingate does not have, with the nearest one it does.
    UnknownKey { suggestion: Option<String> },
    /// The value is of the wrong kind or out of range; the text says how
    /// ("must be a whole number from 6 to 10, got 4").
    Value(String),
    /// The file cannot be parsed at all.
    Syntax(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, e.g. `pin.length` (empty for a whole-file problem).
    pub key: String,
    pub kind: ProblemKind,
    pub origin: Option<Origin>,
}

impl Problem {
    pub fn value(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            kind: ProblemKind::Value(message.into()),
            origin: None,
        }
    }

    pub fn unknown(key: impl Into<String>, suggestion: Option<String>) -> Problem {
        Problem {
            key: key.into(),
            kind: ProblemKind::UnknownKey { suggestion },
            origin: None,
        }
    }

    pub fn syntax(message: String, origin: Origin) -> Problem {
        Problem {
            key: String::new(),
            kind: ProblemKind::Syntax(message),
            origin: Some(origin),
        }
    }

    /// "must be a whole number" becomes "... from 6 to 10" where the key
    /// has a range.
    pub(super) fn add_range_hint(&mut self) {
        const WHOLE: &str = "must be a whole number,";
        if let ProblemKind::Value(m) = &mut self.kind
            && let Some(rest) = m.strip_prefix(WHOLE)
            && let Some((lo, hi)) = super::validate::whole_range(&self.key)
        {
            *m = format!("must be a whole number from {lo} to {hi},{rest}");
        }
    }

    /// What is wrong, without the key or where.
    fn what(&self) -> String {
        match &self.kind {
            ProblemKind::UnknownKey { suggestion } => match suggestion {
                Some(s) => format!("unknown key; did you mean {s}?"),
                None => "unknown key (not a pingate setting; check the spelling)".into(),
            },
            ProblemKind::Value(m) | ProblemKind::Syntax(m) => m.clone(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.origin, &self.kind) {
            // The file itself: "pingate.toml, line 3: is not valid TOML: ..."
            (Some(Origin::File { path, line }), ProblemKind::Syntax(m)) => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ", line {line}")?;
                }
                write!(f, ": {m}")
            }
            // The variable first: that is what the operator must change.
            (Some(Origin::Env { var }), ProblemKind::UnknownKey { suggestion }) => {
                write!(f, "{var}: unknown key {}", self.key)?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean {s}?"),
                    None => write!(f, " (not a pingate setting; check the spelling)"),
                }
            }
            (Some(Origin::Env { var }), _) => write!(f, "{var}: {}: {}", self.key, self.what()),
            (Some(Origin::File { path, line }), _) => {
                write!(f, "{}: {} ({}", self.key, self.what(), path.display())?;
                if let Some(line) = line {
                    write!(f, ", line {line}")?;
                }
                write!(f, ")")
            }
            (None, _) => write!(f, "{}: {}", self.key, self.what()),
        }
    }
}

/// The known name closest to `unknown`, if it is close enough to be a typo.
pub fn closest<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(unknown, k), k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests;
