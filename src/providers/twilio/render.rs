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
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ivr::{Gather as NeutralGather, Say, Task};

    const TARGET: Target<'static> = Target {
        gather_url: "https://pg.example/webhooks/twilio/gather",
        workflow_sid: None,
    };

    fn say(text: &str, language: &str) -> Say {
        Say {
            text: text.into(),
            language: language.into(),
        }
    }

    #[test]
    fn the_account_step_renders_as_it_always_has() {
        let reply = Reply::new()
            .say("Hello.", "en-US")
            .then(Verb::Gather(NeutralGather {
                step: Step::Account,
                num_digits: None,
                timeout_secs: 8,
                finish_on_key: Some('#'),
                prompts: vec![say("Account number?", "en-US")],
                report_empty: false,
            }))
            .then(Verb::Enqueue(Enqueue {
                queue: "support".into(),
                task: None,
            }));
        assert_eq!(
            render(&reply, &TARGET),
            r##"<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US">Hello.</Say><Gather action="https://pg.example/webhooks/twilio/gather" method="POST" timeout="8" finishOnKey="#"><Say language="en-US">Account number?</Say></Gather><Enqueue>support</Enqueue></Response>"##
        );
    }

    #[test]
    fn a_menu_posts_to_its_step_reports_silence_and_speaks_each_language() {
        let reply = Reply::new()
            .then(Verb::Gather(NeutralGather {
                step: Step::Language,
                num_digits: Some(1),
                timeout_secs: 6,
                finish_on_key: None,
                prompts: vec![
                    say("中文服务，请按1。", "zh-CN"),
                    say("For English, press 2.", "en-US"),
                ],
                report_empty: true,
            }))
            .then(Verb::Continue(Step::Continue));
        assert_eq!(
            render(&reply, &TARGET),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://pg.example/webhooks/twilio/gather?step=language" method="POST" numDigits="1" timeout="6" actionOnEmptyResult="true"><Say language="zh-CN">中文服务，请按1。</Say><Say language="en-US">For English, press 2.</Say></Gather><Redirect method="POST">https://pg.example/webhooks/twilio/gather?step=continue</Redirect></Response>"#
        );
    }

    #[test]
    fn a_task_goes_through_the_workflow_with_escaped_attributes() {
        let task = Task {
            priority: 30,
            attributes: BTreeMap::from([("line", "technical".into()), ("org", "a<b\"c".into())]),
        };
        let reply = Reply::new().then(Verb::Enqueue(Enqueue {
            queue: "technical".into(),
            task: Some(task),
        }));
        let plain = render(&reply, &TARGET);
        assert!(
            plain.ends_with("<Enqueue>technical</Enqueue></Response>"),
            "{plain}"
        );
        let routed = render(
            &reply,
            &Target {
                workflow_sid: Some("WW0123456789abcdef0123456789abcdef"),
                ..TARGET
            },
        );
        assert!(
            routed.ends_with(
                r#"<Enqueue workflowSid="WW0123456789abcdef0123456789abcdef"><Task priority="30">{&quot;line&quot;:&quot;technical&quot;,&quot;org&quot;:&quot;a&lt;b\&quot;c&quot;}</Task></Enqueue></Response>"#
            ),
            "{routed}"
        );
    }
}
