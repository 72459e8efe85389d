//! The neutral IVR reply as Plivo XML. `<Speak>` says, `<GetDigits>` posts
//! the keys to `/webhooks/plivo/input` (with `?step=` for the menus); on
//! silence Plivo runs the next element, so a gather that must report
//! silence is followed by a `<Redirect>` to the same step. Plivo has no
//! queue element: a queue is a `<Conference>` room of that name, which
//! the desk's agents join. `<Dial>` takes a `<Number>` (digits, no `+`)
//! or a SIP `<User>`.

use std::fmt::Write as _;

use crate::ivr::{Reply, Say, Step, Verb};
use crate::providers::xml::{push_attr, push_element, push_escaped};

/// The media type to answer Plivo with.
pub const CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// `{public_base_url}/webhooks/plivo/input`, and the step URLs below it.
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
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
    for verb in &reply.verbs {
        match verb {
            Verb::Say(s) => speak(&mut out, s),
            Verb::Gather(g) => {
                let url = target.step_url(g.step);
                out.push_str("<GetDigits");
                push_attr(&mut out, "action", &url);
                push_attr(&mut out, "method", "POST");
                if let Some(n) = g.num_digits {
                    let _ = write!(out, r#" numDigits="{n}""#);
                }
                // Plivo's default gap between two keys is 2 s: too short
                // for someone reading an account number off a contract.
                let _ = write!(
                    out,
                    r#" timeout="{t}" digitTimeout="{t}""#,
                    t = g.timeout_secs
                );
                if let Some(key) = g.finish_on_key {
                    push_attr(&mut out, "finishOnKey", &key.to_string());
                }
                out.push('>');
                for p in &g.prompts {
                    speak(&mut out, p);
                }
                out.push_str("</GetDigits>");
                if g.report_empty {
                    redirect(&mut out, &url);
                }
            }
            Verb::Enqueue(e) => push_element(&mut out, "Conference", &e.queue),
            Verb::Dial(to) => dial(&mut out, to),
            Verb::Continue(step) => redirect(&mut out, &target.step_url(*step)),
            Verb::Hangup => out.push_str("<Hangup/>"),
        }
    }
    out.push_str("</Response>");
    out
}

fn speak(out: &mut String, s: &Say) {
    out.push_str("<Speak");
    push_attr(out, "language", &s.language);
    out.push('>');
    push_escaped(out, &s.text, false);
    out.push_str("</Speak>");
}

fn dial(out: &mut String, to: &str) {
    out.push_str("<Dial>");
    if to.starts_with("sip:") {
        push_element(out, "User", to);
    } else {
        push_element(out, "Number", to.trim_start_matches('+'));
    }
    out.push_str("</Dial>");
}

fn redirect(out: &mut String, url: &str) {
    out.push_str(r#"<Redirect method="POST">"#);
    push_escaped(out, url, false);
    out.push_str("</Redirect>");
}

#[cfg(test)]
mod tests;
