use super::*;

#[test]
fn a_texml_voice_form_reads_its_attestation() {
    let form = Form::parse(
        b"CallSid=v3%3Aabc&From=%2B14155550100&To=%2B18005550100\
          &ShakenStirAttestation=A&ShakenStirValidated=true",
    )
    .unwrap();
    let v = Voice::from_form(&form).unwrap();
    assert_eq!(v.call_sid, "v3:abc");
    assert_eq!(v.from, "+14155550100");
    assert_eq!(v.attestation_words().as_deref(), Some("A (validated)"));
}

#[test]
fn a_call_sid_must_be_present_and_plausible() {
    for body in [
        &b"From=a&To=b"[..],
        b"CallSid=&From=a&To=b",
        b"CallSid=a+b&From=a&To=b",
    ] {
        let form = Form::parse(body).unwrap();
        assert!(Voice::from_form(&form).is_err());
    }
}

#[test]
fn a_finalized_event_names_its_message_status_and_error() {
    let body = br#"{"data":{"event_type":"message.finalized","id":"e1","payload":{
        "id":"40385f64-5717-4562-b3fc-2c963f66afa6","to":[{"phone_number":"+14155550199",
        "status":"delivery_failed"}],"errors":[{"code":"40008","title":"Undeliverable"}]}}}"#;
    let e = MessageEvent::parse(body).unwrap();
    assert_eq!(e.message_id, "40385f64-5717-4562-b3fc-2c963f66afa6");
    assert_eq!(e.status, "delivery_failed");
    assert_eq!(e.error_code.as_deref(), Some("40008"));
    assert_eq!(MessageEvent::parse(b"{}"), Err(EventError::Shape));
    let no_to = br#"{"data":{"event_type":"message.sent","payload":{"id":"m"}}}"#;
    assert_eq!(MessageEvent::parse(no_to), Err(EventError::NoRecipient));
}
