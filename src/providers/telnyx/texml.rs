//! The neutral IVR reply as TeXML: Telnyx's TwiML-compatible markup. Each
//! gather posts to `/webhooks/telnyx/gather` (with `?step=` for the menus);
//! TeXML has no `actionOnEmptyResult`, so a gather that must report silence
//! is followed by a redirect to the same step, which posts without digits.
//! Queues are plain `<Enqueue>` (TeXML has no TaskRouter workflow).

use std::fmt::Write as _;

use crate::ivr::{Reply, Say, Step, Verb};
use crate::providers::xml::{push_attr, push_element, push_escaped};

/// The media type to answer TeXML with.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// `{public_base_url}/webhooks/telnyx/gather`, and the step URLs below it.
pub struct Target<'a> {
    pub gather_url: &'a str,
}

impl Target<'_> {
    pub fn step_url(&self, step: Step) -> String {
        match step {
            Step::Account => self.gather_url.to_string(),
            other => format!("{}?step={}", self.gather_url, other.as_str()),
        }
    }
}

pub fn render(reply: &Reply, target: &Target<'_>) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
    for verb in &reply.verbs {
        match verb {
            Verb::Say(s) => say(&mut out, s),
            Verb::Gather(g) => {
                let url = target.step_url(g.step);
                out.push_str("<Gather");
                push_attr(&mut out, "action", &url);
                push_attr(&mut out, "method", "POST");
                if let Some(n) = g.num_digits {
                    let _ = write!(out, r#" numDigits="{n}""#);
                }
                let _ = write!(out, r#" timeout="{}""#, g.timeout_secs);
                if let Some(key) = g.finish_on_key {
                    push_attr(&mut out, "finishOnKey", &key.to_string());
                }
                out.push('>');
                for p in &g.prompts {
                    say(&mut out, p);
                }
                out.push_str("</Gather>");
                if g.report_empty {
                    redirect(&mut out, &url);
                }
            }
            Verb::Enqueue(e) => push_element(&mut out, "Enqueue", &e.queue),
            Verb::Dial(n) => push_element(&mut out, "Dial", n),
            Verb::Continue(step) => redirect(&mut out, &target.step_url(*step)),
            Verb::Hangup => out.push_str("<Hangup/>"),
        }
    }
    out.push_str("</Response>");
    out
}

fn say(out: &mut String, s: &Say) {
    out.push_str("<Say");
    push_attr(out, "language", &s.language);
    out.push('>');
    push_escaped(out, &s.text, false);
    out.push_str("</Say>");
}

fn redirect(out: &mut String, url: &str) {
    out.push_str(r#"<Redirect method="POST">"#);
    push_escaped(out, url, false);
    out.push_str("</Redirect>");
}

#[cfg(test)]
mod tests;
