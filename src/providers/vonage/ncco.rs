//! The neutral IVR reply as an NCCO (Vonage Call Control Object), a JSON
//! array of actions. A gather is its prompts as `talk` actions the caller
//! may interrupt, then an `input` whose `eventUrl` is the input route (with
//! `?step=` for the menus). Vonage reports every input there, a timeout
//! with no digits included, and runs the NCCO that answer returns; so a
//! `Continue` is a short `input` the caller need not answer. Queues are
//! named `conversation`s; a dial is a `connect`; hanging up is ending the
//! NCCO.

use serde_json::{Value, json};

use crate::ivr::{Gather, Reply, Say, Step, Verb};

/// The media type to answer an NCCO with.
pub const CONTENT_TYPE: &str = "application/json";
/// Vonage's bounds for `dtmf.maxDigits` and `dtmf.timeOut` (seconds).
const MAX_DIGITS: u8 = 20;
const MAX_TIMEOUT_SECS: u32 = 10;

/// `{public_base_url}/webhooks/vonage/input`, and the step URLs below it.
pub struct Target<'a> {
    pub input_url: &'a str,
}

impl Target<'_> {
    pub fn step_url(&self, step: Step) -> String {
        match step {
            Step::Account => self.input_url.to_string(),
            other => format!("{}?step={}", self.input_url, other.as_str()),
        }
    }
}

pub fn render(reply: &Reply, target: &Target<'_>) -> String {
    let mut actions: Vec<Value> = Vec::new();
    for verb in &reply.verbs {
        match verb {
            Verb::Say(s) => actions.push(talk(s, false)),
            Verb::Gather(g) => gather(&mut actions, g, target),
            Verb::Enqueue(e) => actions.push(json!({"action": "conversation", "name": e.queue})),
            Verb::Dial(n) => actions.push(json!({"action": "connect", "endpoint": [endpoint(n)]})),
            Verb::Continue(step) => actions.push(input(target.step_url(*step), 1, 1, false)),
            // The call ends where the NCCO does.
            Verb::Hangup => break,
        }
    }
    Value::Array(actions).to_string()
}

fn talk(s: &Say, barge_in: bool) -> Value {
    let mut t = json!({"action": "talk", "text": s.text, "language": s.language});
    if barge_in {
        t["bargeIn"] = Value::Bool(true);
    }
    t
}

fn gather(actions: &mut Vec<Value>, g: &Gather, target: &Target<'_>) {
    actions.extend(g.prompts.iter().map(|p| talk(p, true)));
    let max_digits = g.num_digits.map_or(MAX_DIGITS, |n| n.clamp(1, MAX_DIGITS));
    let timeout = g.timeout_secs.clamp(1, MAX_TIMEOUT_SECS);
    let on_hash = g.finish_on_key == Some('#');
    actions.push(input(target.step_url(g.step), max_digits, timeout, on_hash));
}

fn input(url: String, max_digits: u8, timeout: u32, submit_on_hash: bool) -> Value {
    json!({
        "action": "input",
        "type": ["dtmf"],
        "dtmf": {"maxDigits": max_digits, "timeOut": timeout, "submitOnHash": submit_on_hash},
        "eventUrl": [url],
        "eventMethod": "POST",
    })
}

/// A number in E.164 (`+1…`) is a phone endpoint, which Vonage writes
/// without the `+`; a SIP URI is a SIP endpoint.
fn endpoint(target: &str) -> Value {
    if target.starts_with("sip:") || target.starts_with("sips:") {
        json!({"type": "sip", "uri": target})
    } else {
        json!({"type": "phone", "number": target.trim_start_matches('+')})
    }
}

#[cfg(test)]
mod tests;
