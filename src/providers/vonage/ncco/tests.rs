use serde_json::{Value, json};

use super::*;
use crate::ivr::{Enqueue, Gather};

const TARGET: Target<'static> = Target {
    input_url: "https://pg.example/webhooks/vonage/input",
};

fn rendered(reply: &Reply) -> Value {
    serde_json::from_str(&render(reply, &TARGET)).expect("an NCCO is JSON")
}

#[test]
fn a_menu_is_interruptible_talk_then_an_input_posting_to_its_step() {
    let reply = Reply::new()
        .say("Hello \"you\".", "en-US")
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
        rendered(&reply),
        json!([
            {"action": "talk", "text": "Hello \"you\".", "language": "en-US"},
            {"action": "talk", "text": "For English, press 2.", "language": "en-US", "bargeIn": true},
            {"action": "input", "type": ["dtmf"],
             "dtmf": {"maxDigits": 1, "timeOut": 6, "submitOnHash": false},
             "eventUrl": ["https://pg.example/webhooks/vonage/input?step=language"],
             "eventMethod": "POST"},
            {"action": "conversation", "name": "support"},
        ])
    );
}

#[test]
fn the_account_step_takes_up_to_twenty_digits_ended_by_hash() {
    let reply = Reply::new().then(Verb::Gather(Gather {
        step: Step::Account,
        num_digits: None,
        timeout_secs: 30,
        finish_on_key: Some('#'),
        prompts: vec![],
        report_empty: false,
    }));
    let ncco = rendered(&reply);
    assert_eq!(ncco[0]["eventUrl"][0], TARGET.input_url);
    assert_eq!(
        ncco[0]["dtmf"],
        json!({"maxDigits": 20, "timeOut": 10, "submitOnHash": true})
    );
}

#[test]
fn dial_continue_and_hangup() {
    let reply = Reply::new()
        .then(Verb::Dial("+14155550100".into()))
        .then(Verb::Dial("sip:desk@pbx.example".into()))
        .then(Verb::Continue(Step::Continue))
        .then(Verb::Hangup)
        .say("never said", "en-US");
    let ncco = rendered(&reply);
    assert_eq!(
        ncco[0],
        json!({"action": "connect", "endpoint": [{"type": "phone", "number": "14155550100"}]})
    );
    assert_eq!(
        ncco[1]["endpoint"][0],
        json!({"type": "sip", "uri": "sip:desk@pbx.example"})
    );
    assert_eq!(
        ncco[2]["eventUrl"][0],
        "https://pg.example/webhooks/vonage/input?step=continue"
    );
    assert_eq!(ncco.as_array().unwrap().len(), 3, "nothing after a hang-up");
    assert_eq!(render(&Reply::new().then(Verb::Hangup), &TARGET), "[]");
}
