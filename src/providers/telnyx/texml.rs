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
mod tests {
    use super::*;
    use crate::ivr::{Enqueue, Gather};

    const TARGET: Target<'static> = Target {
        gather_url: "https://pg.example/webhooks/telnyx/gather",
    };

    #[test]
    fn a_menu_reports_silence_with_a_redirect_to_its_step() {
        let reply = Reply::new()
            .say("Hello <you>.", "en-US")
            .then(Verb::Gather(Gather {
                step: Step::Language,
                num_digits: Some(1),
                timeout_secs: 6,
                finish_on_key: None,
                prompts: vec![Say {
                    text: "For English, press 2.".into(),
                    language: "en-US".into(),
                }],
                report_empty: true,
            }))
            .then(Verb::Enqueue(Enqueue {
                queue: "support".into(),
                task: None,
            }));
        assert_eq!(
            render(&reply, &TARGET),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US">Hello &lt;you&gt;.</Say><Gather action="https://pg.example/webhooks/telnyx/gather?step=language" method="POST" numDigits="1" timeout="6"><Say language="en-US">For English, press 2.</Say></Gather><Redirect method="POST">https://pg.example/webhooks/telnyx/gather?step=language</Redirect><Enqueue>support</Enqueue></Response>"#
        );
    }

    #[test]
    fn the_account_step_posts_to_the_bare_gather_url() {
        let reply = Reply::new().then(Verb::Gather(Gather {
            step: Step::Account,
            num_digits: None,
            timeout_secs: 8,
            finish_on_key: Some('#'),
            prompts: vec![],
            report_empty: false,
        }));
        assert_eq!(
            render(&reply, &TARGET),
            r##"<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://pg.example/webhooks/telnyx/gather" method="POST" timeout="8" finishOnKey="#"></Gather></Response>"##
        );
    }
}
