//! TwiML replies: a small builder for the few verbs pingate answers calls
//! with. Every piece of text and every attribute is escaped, so a caller
//! name or an org name can never inject markup into the call flow.

use std::fmt::Write as _;

#[cfg(test)]
use crate::providers::xml::is_xml_char;
use crate::providers::xml::{push_attr, push_element, push_escaped};

/// The media type to answer TwiML with.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Text spoken with `<Say>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Say<'a> {
    pub text: &'a str,
    /// e.g. `Polly.Joanna`; Twilio's default voice when `None`.
    pub voice: Option<&'a str>,
    /// e.g. `en-GB`; Twilio's default language when `None`.
    pub language: Option<&'a str>,
}

/// A `<Gather>` collecting keypad digits, posted to `action_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gather<'a> {
    pub action_url: &'a str,
    /// Stop after this many digits; otherwise `finish_on_key` or the timeout.
    pub num_digits: Option<u8>,
    /// Seconds of silence before Twilio gives up waiting.
    pub timeout_secs: u32,
    /// Key that ends input (Twilio's default is `#`).
    pub finish_on_key: Option<&'a str>,
    /// Spoken while waiting; keys pressed during it are collected too.
    pub prompt: Option<Say<'a>>,
}

impl<'a> Gather<'a> {
    /// A gather with Twilio's defaults: 5 s timeout, `#` ends input, no prompt.
    pub fn new(action_url: &'a str) -> Self {
        Self {
            action_url,
            num_digits: None,
            timeout_secs: 5,
            finish_on_key: None,
            prompt: None,
        }
    }
}

/// A TwiML `<Response>` built verb by verb.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// The verbs, already rendered and escaped.
    verbs: String,
}

impl Response {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn say(mut self, text: &str, voice: Option<&str>, language: Option<&str>) -> Self {
        write_say(
            &mut self.verbs,
            &Say {
                text,
                voice,
                language,
            },
        );
        self
    }

    pub fn gather(self, gather: Gather<'_>) -> Self {
        let prompts: Vec<Say<'_>> = gather.prompt.into_iter().collect();
        self.gather_all(gather, &prompts, false)
    }

    /// A gather speaking several prompts (each in its own language);
    /// `report_empty` posts a timeout without digits to the action too.
    pub fn gather_all(
        mut self,
        gather: Gather<'_>,
        prompts: &[Say<'_>],
        report_empty: bool,
    ) -> Self {
        let out = &mut self.verbs;
        out.push_str("<Gather");
        push_attr(out, "action", gather.action_url);
        push_attr(out, "method", "POST");
        if let Some(n) = gather.num_digits {
            // Writing to a String cannot fail.
            let _ = write!(out, r#" numDigits="{n}""#);
        }
        let _ = write!(out, r#" timeout="{}""#, gather.timeout_secs);
        if let Some(key) = gather.finish_on_key {
            push_attr(out, "finishOnKey", key);
        }
        if report_empty {
            push_attr(out, "actionOnEmptyResult", "true");
        }
        if prompts.is_empty() {
            out.push_str("/>");
        } else {
            out.push('>');
            for prompt in prompts {
                write_say(out, prompt);
            }
            out.push_str("</Gather>");
        }
        self
    }

    /// Hands the caller to a TaskRouter workflow as a task with these
    /// attributes (a JSON object) at this priority.
    pub fn enqueue_task(
        mut self,
        workflow_sid: &str,
        priority: u32,
        attributes_json: &str,
    ) -> Self {
        let out = &mut self.verbs;
        out.push_str("<Enqueue");
        push_attr(out, "workflowSid", workflow_sid);
        let _ = write!(out, r#"><Task priority="{priority}">"#);
        push_escaped(out, attributes_json, false);
        out.push_str("</Task></Enqueue>");
        self
    }

    /// Puts the caller in the agents' queue.
    pub fn enqueue(mut self, queue_name: &str) -> Self {
        push_element(&mut self.verbs, "Enqueue", queue_name);
        self
    }

    /// Connects the caller to a number (or SIP URI) directly.
    pub fn dial(mut self, number: &str) -> Self {
        push_element(&mut self.verbs, "Dial", number);
        self
    }

    pub fn hangup(mut self) -> Self {
        self.verbs.push_str("<Hangup/>");
        self
    }

    /// Continues the call with the TwiML at `url` (fetched with POST, so the
    /// request is signed with its parameters like every other webhook).
    pub fn redirect(mut self, url: &str) -> Self {
        self.verbs.push_str(r#"<Redirect method="POST">"#);
        push_escaped(&mut self.verbs, url, false);
        self.verbs.push_str("</Redirect>");
        self
    }

    /// The complete document, XML declaration first.
    pub fn render(&self) -> String {
        if self.verbs.is_empty() {
            return format!("{XML_DECLARATION}<Response/>");
        }
        format!("{XML_DECLARATION}<Response>{}</Response>", self.verbs)
    }
}

fn write_say(out: &mut String, say: &Say<'_>) {
    out.push_str("<Say");
    if let Some(voice) = say.voice {
        push_attr(out, "voice", voice);
    }
    if let Some(language) = say.language {
        push_attr(out, "language", language);
    }
    out.push('>');
    push_escaped(out, say.text, false);
    out.push_str("</Say>");
}

#[cfg(test)]
mod tests;
