use super::{gather_action, stir_verstat};

#[test]
fn the_gather_action_is_read_from_twiml_and_unescaped() {
    let twiml = r#"<?xml version="1.0"?><Response><Gather action="https://gw.example/webhooks/twilio/gather?a=1&amp;b=2" timeout="8"><Say>Key</Say></Gather></Response>"#;
    assert_eq!(
        gather_action(twiml).as_deref(),
        Some("https://gw.example/webhooks/twilio/gather?a=1&b=2")
    );
    assert_eq!(
        gather_action("<Response><Enqueue>q</Enqueue></Response>"),
        None
    );
    assert_eq!(stir_verstat("a"), "TN-Validation-Passed-A");
    assert_eq!(stir_verstat("TN-Validation-Failed"), "TN-Validation-Failed");
}
