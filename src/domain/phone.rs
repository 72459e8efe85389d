//! Phone numbers and caller-ID classification.
//!
//! `E164` is the only phone-number type the rest of pingate handles: holding
//! one proves the number parsed and is valid for its country. `classify`
//! turns a provider's raw `From` into a `CallerId`, and only its `E164`
//! variant can ever match an org's registered numbers.

use std::fmt;
use std::str::FromStr;

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumber, PhoneNumberFormat};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// E.164 allows at most 15 digits after the '+'.
const MAX_DIGITS: usize = 15;

/// Human-formatted input ("+1 (415) 555-0100") is accepted, but anything much
/// longer than a formatted 15-digit number is not a phone number, and bounding
/// it keeps the third-party parser away from pathological input.
const MAX_INPUT_LEN: usize = 40;

/// What providers put in `From` when the caller withheld their number (they
/// spell ANONYMOUS, RESTRICTED, UNKNOWN, UNAVAIL, BLOCKED on a keypad). Some
/// parse as numbers, and metadata updates may make any of them "valid", so
/// they are matched before E.164 parsing and refused by `E164::parse` too.
const WITHHELD_SENTINELS: [&str; 5] = [
    "+266696687",
    "+7378742833",
    "+2562533",
    "+8656696",
    "+86282452253",
];

/// Words providers use for a caller without a number (compared
/// case-insensitively, after trimming).
const WITHHELD_WORDS: [&str; 4] = ["anonymous", "unknown", "restricted", "private"];

/// Why a string is not an `E164` number. Messages never echo the input: the
/// caller decides whether the raw value may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number must start with '+' and the country code")]
    MissingPlus,
    #[error("phone number may contain only digits, spaces, '-', '.', '(' and ')'")]
    InvalidCharacter,
    #[error("phone number is too long for E.164")]
    TooLong,
    #[error("phone number could not be parsed")]
    Unparseable,
    #[error("phone number is not valid for its country")]
    Invalid,
    #[error("phone number is a provider's withheld-caller placeholder")]
    WithheldSentinel,
}

/// A valid phone number in canonical E.164 form (`+14155550100`).
///
/// The country code is kept next to the string because the library has to
/// parse the whole number to find it again; both fields are derived from the
/// same parse, so the derived comparisons agree with comparing the strings.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164 {
    /// Always '+', then the country code's digits, then the national digits
    /// (ASCII only), so the byte slicing in `mask` and `last_digits` is in
    /// range and on character boundaries.
    e164: String,
    country_code: u16,
}

impl E164 {
    /// Parses and validates a number. The input must start with '+'
    /// (surrounding whitespace is ignored); spaces, '-', '.', '(' and ')'
    /// between digits are accepted and dropped from the canonical form.
    pub fn parse(input: &str) -> Result<E164, PhoneError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(PhoneError::Empty);
        }
        if input.len() > MAX_INPUT_LEN {
            return Err(PhoneError::TooLong);
        }
        let Some(rest) = input.strip_prefix('+') else {
            return Err(PhoneError::MissingPlus);
        };
        // Only ASCII digits and common separators reach the parser: no
        // letters (vanity numbers), extensions, `tel:` URIs or non-ASCII
        // digits, which the library would otherwise reinterpret.
        if !rest.chars().all(|c| c.is_ascii_digit() || is_separator(c)) {
            return Err(PhoneError::InvalidCharacter);
        }
        let digits = rest.chars().filter(char::is_ascii_digit).count();
        if digits > MAX_DIGITS {
            return Err(PhoneError::TooLong);
        }
        if is_withheld_sentinel(input) {
            return Err(PhoneError::WithheldSentinel);
        }
        let number = PHONE_NUMBER_UTIL
            .parse(input, None)
            .map_err(|_| PhoneError::Unparseable)?;
        if number.extension.as_deref().is_some_and(|e| !e.is_empty()) {
            return Err(PhoneError::InvalidCharacter);
        }
        if !PHONE_NUMBER_UTIL.is_valid_number(&number) {
            return Err(PhoneError::Invalid);
        }
        // E.164 is '+', the country code and the national significant number,
        // leading zeros included.
        let country_code = u16::try_from(number.country_code).map_err(|_| PhoneError::Invalid)?;
        let e164 = PHONE_NUMBER_UTIL
            .format(&number, PhoneNumberFormat::E164)
            .into_owned();
        Ok(E164 { e164, country_code })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// ISO 3166-1 alpha-2 region ("US", "CN"), when the metadata names one.
    /// Numbers of non-geographic codes (e.g. +800) have none.
    pub fn region(&self) -> Option<String> {
        let number = self.reparse()?;
        PHONE_NUMBER_UTIL
            .get_region_for_number(&number)
            .or_else(|| PHONE_NUMBER_UTIL.get_region_for_country_code(i32::from(self.country_code)))
            .map(|region| region.as_region_str().as_str().to_owned())
            .filter(|id| id.len() == 2 && id.bytes().all(|b| b.is_ascii_uppercase()))
    }

    /// The number in international grouping with every national digit but
    /// the last four hidden: `+86 *** **** 8000`. Shown to agents, who must
    /// recognise the destination without learning it.
    pub fn mask(&self) -> String {
        let cc_digits = count_digits(&self.country_code.to_string());
        let formatted = self
            .reparse()
            .map(|n| {
                PHONE_NUMBER_UTIL
                    .format(&n, PhoneNumberFormat::International)
                    .into_owned()
            })
            // Only trust the grouping if it carries exactly our digits.
            .filter(|s| digits_of(s) == self.e164[1..])
            .unwrap_or_else(|| format!("+{} {}", self.country_code, &self.e164[1 + cc_digits..]));
        let national_digits = count_digits(&formatted).saturating_sub(cc_digits);
        let reveal = revealed_digits(national_digits);
        let mut seen = 0usize;
        formatted
            .chars()
            .map(|c| {
                if !c.is_ascii_digit() {
                    return c;
                }
                seen += 1;
                let national_index = seen.saturating_sub(cc_digits + 1);
                if seen <= cc_digits || national_index >= national_digits - reveal {
                    c
                } else {
                    '*'
                }
            })
            .collect()
    }

    /// The last `n` digits (fewer if the number is shorter), for audit
    /// pseudonyms that pair a keyed hash with a recognisable tail.
    pub fn last_digits(&self, n: usize) -> &str {
        let digits = &self.e164[1..];
        &digits[digits.len().saturating_sub(n)..]
    }

    /// `parse` succeeded on this string once, so this only fails if the
    /// library changes its mind; callers degrade gracefully rather than panic.
    fn reparse(&self) -> Option<PhoneNumber> {
        PHONE_NUMBER_UTIL.parse(&self.e164, None).ok()
    }
}

/// How many national digits a mask may show: four, but never more than half
/// of a short number (Niue's +683 numbers have four digits in all).
fn revealed_digits(national_digits: usize) -> usize {
    if national_digits >= 8 {
        4
    } else {
        national_digits / 2
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')')
}

fn count_digits(s: &str) -> usize {
    s.chars().filter(char::is_ascii_digit).count()
}

fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Compares with separators removed so "+266 696 687" is caught too.
fn is_withheld_sentinel(trimmed: &str) -> bool {
    if !trimmed.starts_with('+') {
        return false;
    }
    let compact: String = trimmed.chars().filter(|&c| !is_separator(c)).collect();
    WITHHELD_SENTINELS.contains(&compact.as_str())
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("E164").field(&self.e164).finish()
    }
}

impl FromStr for E164 {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        E164::parse(s)
    }
}

impl AsRef<str> for E164 {
    fn as_ref(&self) -> &str {
        &self.e164
    }
}

impl Serialize for E164 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.e164)
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        E164::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Who the provider says is calling. Only `E164` can match a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerId {
    E164(E164),
    /// The caller withheld their number (or the network did not pass it).
    Withheld,
    /// A provider SDK client identity, without the `client:` prefix.
    Client(String),
    /// A SIP URI, scheme included (`sip:alice@example.com`).
    Sip(String),
    /// Anything else, as received (trimmed).
    Other(String),
}

impl CallerId {
    /// The string form used in the API (`caller_kind`), database and audit.
    pub fn kind(&self) -> &'static str {
        match self {
            CallerId::E164(_) => "e164",
            CallerId::Withheld => "withheld",
            CallerId::Client(_) => "client",
            CallerId::Sip(_) => "sip",
            CallerId::Other(_) => "other",
        }
    }

    pub fn as_e164(&self) -> Option<&E164> {
        match self {
            CallerId::E164(number) => Some(number),
            _ => None,
        }
    }
}

/// Classifies a provider's `From` value. Never fails: whatever does not look
/// like a number, a client or a SIP URI is kept as `Other`.
pub fn classify(from: &str) -> CallerId {
    let trimmed = from.trim();
    // Withheld first: the keypad sentinels look like numbers.
    if trimmed.is_empty()
        || WITHHELD_WORDS
            .iter()
            .any(|word| trimmed.eq_ignore_ascii_case(word))
        || is_withheld_sentinel(trimmed)
    {
        return CallerId::Withheld;
    }
    if let Some(identity) = strip_prefix_ignore_case(trimmed, "client:") {
        if identity.is_empty() {
            return CallerId::Other(trimmed.to_owned());
        }
        return CallerId::Client(identity.to_owned());
    }
    if strip_prefix_ignore_case(trimmed, "sip:").is_some()
        || strip_prefix_ignore_case(trimmed, "sips:").is_some()
    {
        return CallerId::Sip(trimmed.to_owned());
    }
    match E164::parse(trimmed) {
        Ok(number) => CallerId::E164(number),
        Err(_) => CallerId::Other(trimmed.to_owned()),
    }
}

/// `str::strip_prefix`, ASCII-case-insensitively; `get` keeps a multi-byte
/// character straddling the prefix length from panicking.
fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
