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
