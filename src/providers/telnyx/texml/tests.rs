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
