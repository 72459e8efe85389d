use super::*;
use crate::ivr::{Enqueue, Gather};

const TARGET: Target<'static> = Target {
    input_url: "https://pg.example/webhooks/plivo/input",
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
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Speak language="en-US">Hello &lt;you&gt;.</Speak><GetDigits action="https://pg.example/webhooks/plivo/input?step=language" method="POST" numDigits="1" timeout="6" digitTimeout="6"><Speak language="en-US">For English, press 2.</Speak></GetDigits><Redirect method="POST">https://pg.example/webhooks/plivo/input?step=language</Redirect><Conference>support</Conference></Response>"#
    );
}

#[test]
fn the_account_step_posts_to_the_bare_input_url() {
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
        r##"<?xml version="1.0" encoding="UTF-8"?><Response><GetDigits action="https://pg.example/webhooks/plivo/input" method="POST" timeout="8" digitTimeout="8" finishOnKey="#"></GetDigits></Response>"##
    );
}

#[test]
fn dial_takes_a_number_without_plus_or_a_sip_user_and_hangup_ends() {
    let reply = Reply::new()
        .then(Verb::Dial("+14155550100".into()))
        .then(Verb::Dial("sip:desk@example.com".into()))
        .then(Verb::Hangup);
    assert_eq!(
        render(&reply, &TARGET),
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Number>14155550100</Number></Dial><Dial><User>sip:desk@example.com</User></Dial><Hangup/></Response>"#
    );
}
