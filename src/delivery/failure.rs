//! What a failed send is recorded as: the provider's error class and code,
//! never its prose (SMTP replies and providers' messages quote the recipient).
//! Whatever text is kept goes through [`redact`], which masks any address
//! or number left in it.

use std::fmt;

/// A send failure's reason, safe to store, audit and show: built only
/// through [`FailureReason::new`], which redacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureReason(String);

impl FailureReason {
    pub fn new(text: impl AsRef<str>) -> FailureReason {
        FailureReason(redact(text.as_ref()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An SMTP error as its class and reply code (`SMTP permanent 550`), or
/// the kind of transport failure when the server never replied.
pub fn smtp(e: &lettre::transport::smtp::Error) -> FailureReason {
    let class = if e.is_permanent() {
        "permanent"
    } else {
        "transient"
    };
    let text = match e.status() {
        Some(code) => format!("SMTP {class} {code}"),
        None if e.is_timeout() => "SMTP timeout".to_owned(),
        None if e.is_tls() => "SMTP TLS failed".to_owned(),
        None if e.is_client() => "SMTP client error".to_owned(),
        None => "SMTP connection failed".to_owned(),
    };
    FailureReason::new(text)
}

/// A provider's API error as its name, HTTP status and error code (never
/// its message, which may name the recipient).
pub fn provider(name: &str, status: u16, code: Option<&str>) -> FailureReason {
    FailureReason::new(format!("{name} {status} code {}", code.unwrap_or("?")))
}

/// Fewest digits in a run that is taken for a phone number: more than any
/// SMTP reply code, enhanced status code or provider error code has.
const NUMBER_DIGITS: usize = 7;

/// Masks email addresses (`[address]`) and phone numbers (`[number]`) in
/// free text.
pub fn redact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if let Some(end) = address_at(&chars, i) {
            // Drop the local part already copied.
            while out.ends_with(|c: char| !is_delimiter(c)) {
                out.pop();
            }
            out.push_str("[address]");
            i = end;
        } else if let Some(end) = number_at(&chars, i) {
            out.push_str("[number]");
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || "<>\"'(),;:[]".contains(c)
}

/// At an `@`: the end of the address's domain part.
fn address_at(chars: &[char], i: usize) -> Option<usize> {
    if chars[i] != '@' {
        return None;
    }
    let mut end = i + 1;
    while end < chars.len() && !is_delimiter(chars[end]) {
        end += 1;
    }
    Some(end)
}

/// At the start of a digit run (optionally `+`) of at least
/// [`NUMBER_DIGITS`] digits, spaces, dots and dashes between them allowed:
/// its end.
fn number_at(chars: &[char], i: usize) -> Option<usize> {
    let starts = chars[i] == '+' || chars[i].is_ascii_digit();
    let after_digit = i > 0 && chars[i - 1].is_ascii_digit();
    if !starts || after_digit {
        return None;
    }
    let mut digits = 0;
    let mut end = i;
    let mut j = i + usize::from(chars[i] == '+');
    while j < chars.len() {
        let c = chars[j];
        if c.is_ascii_digit() {
            digits += 1;
            j += 1;
            end = j;
        } else if matches!(c, ' ' | '-' | '.') && chars.get(j + 1).is_some_and(char::is_ascii_digit)
        {
            j += 1;
        } else {
            break;
        }
    }
    (digits >= NUMBER_DIGITS).then_some(end)
}

#[cfg(test)]
mod tests;
