use super::{attestation_word, digits_url};

#[test]
fn the_digits_go_to_the_gather_action_unescaped() {
    let twiml = r#"<?xml version="1.0"?><Response><Gather action="https://gw.example/webhooks/twilio/gather?a=1&amp;b=2" timeout="8"><Say>Key</Say></Gather></Response>"#;
    assert_eq!(
        digits_url(twiml).as_deref(),
        Some("https://gw.example/webhooks/twilio/gather?a=1&b=2")
    );
    assert_eq!(
        digits_url("<Response><Enqueue>q</Enqueue></Response>"),
        None
    );
}

#[test]
fn an_attestation_level_becomes_twilios_word() {
    assert_eq!(attestation_word("a"), "TN-Validation-Passed-A");
    assert_eq!(
        attestation_word("TN-Validation-Failed"),
        "TN-Validation-Failed"
    );
}
