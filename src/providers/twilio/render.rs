//! The neutral IVR reply as TwiML: each step's gather posts to
//! `/webhooks/twilio/gather` (with `?step=` for the menus), and a queue
//! with a task goes through the TaskRouter workflow when one is configured.

use super::twiml::{self, Gather, Response};
use crate::ivr::{Enqueue, Reply, Step, Verb};

/// This deployment's URLs and TaskRouter workflow.
pub struct Target<'a> {
    /// `{public_base_url}/webhooks/twilio/gather`
    pub gather_url: &'a str,
    pub workflow_sid: Option<&'a str>,
}

impl Target<'_> {
    /// The account step keeps the bare URL it has always had.
    pub fn step_url(&self, step: Step) -> String {
        match step {
            Step::Account => self.gather_url.to_string(),
            other => format!("{}?step={}", self.gather_url, other.as_str()),
        }
    }
}

pub fn render(reply: &Reply, target: &Target<'_>) -> String {
    let mut r = Response::new();
    for verb in &reply.verbs {
        r = match verb {
            Verb::Say(s) => r.say(&s.text, None, Some(&s.language)),
            Verb::Gather(g) => {
                let url = target.step_url(g.step);
                let key = g.finish_on_key.map(String::from);
                let prompts: Vec<twiml::Say<'_>> = g
                    .prompts
                    .iter()
                    .map(|p| twiml::Say {
                        text: &p.text,
                        voice: None,
                        language: Some(&p.language),
                    })
                    .collect();
                let gather = Gather {
                    action_url: &url,
                    num_digits: g.num_digits,
                    timeout_secs: g.timeout_secs,
                    finish_on_key: key.as_deref(),
                    prompt: None,
                };
                r.gather_all(gather, &prompts, g.report_empty)
            }
            Verb::Enqueue(e) => enqueue(r, e, target),
            Verb::Dial(n) => r.dial(n),
            Verb::Continue(step) => r.redirect(&target.step_url(*step)),
            Verb::Hangup => r.hangup(),
        };
    }
    r.render()
}

fn enqueue(r: Response, e: &Enqueue, target: &Target<'_>) -> Response {
    match (&e.task, target.workflow_sid) {
        (Some(task), Some(workflow)) => {
            let attributes = serde_json::to_string(&task.attributes).unwrap_or_default();
            r.enqueue_task(workflow, task.priority, &attributes)
        }
        _ => r.enqueue(&e.queue),
    }
}

#[cfg(test)]
mod tests;
