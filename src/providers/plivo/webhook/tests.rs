use super::*;

#[test]
fn an_answer_callback_reads_its_numbers_as_e164() {
    let form = Form::parse(
        b"CallUUID=3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36&From=14155550100\
          &To=18005550100&Direction=inbound&CallStatus=ringing",
    )
    .unwrap();
    let a = Answer::from_form(&form).unwrap();
    assert_eq!(a.call_uuid, "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36");
    assert_eq!(a.from, "+14155550100");
    assert_eq!(a.to, "+18005550100");
}

#[test]
fn a_call_uuid_must_be_present_and_plausible() {
    for body in [
        &b"From=1&To=2"[..],
        b"CallUUID=&From=1&To=2",
        b"CallUUID=a+b&From=1&To=2",
        b"CallUUID=a&CallUUID=b&From=1&To=2",
    ] {
        let form = Form::parse(body).unwrap();
        assert!(Answer::from_form(&form).is_err(), "{body:?}");
    }
}

#[test]
fn a_message_status_names_its_error_code_unless_zero() {
    let form = Form::parse(b"MessageUUID=m-1&Status=undelivered&ErrorCode=200").unwrap();
    let m = MessageStatus::from_form(&form).unwrap();
    assert_eq!(m.message_uuid, "m-1");
    assert_eq!(m.status, "undelivered");
    assert_eq!(m.error_code.as_deref(), Some("200"));
    let form = Form::parse(b"MessageUUID=m-1&Status=delivered&ErrorCode=0").unwrap();
    assert_eq!(MessageStatus::from_form(&form).unwrap().error_code, None);
    let form = Form::parse(b"MessageUUID=m-1&Status=").unwrap();
    assert_eq!(
        MessageStatus::from_form(&form),
        Err(FormError::Invalid("Status"))
    );
}

#[test]
fn input_and_hangup_read_digits_and_status() {
    let form = Form::parse(b"CallUUID=c1&Digits=40012345%23").unwrap();
    assert_eq!(
        Input::from_form(&form).unwrap().digits.as_deref(),
        Some("40012345#")
    );
    let form = Form::parse(b"CallUUID=c1&Digits=").unwrap();
    assert_eq!(Input::from_form(&form).unwrap().digits, None);
    let form =
        Form::parse(b"CallUUID=c1&CallStatus=completed&HangupCause=NORMAL_CLEARING").unwrap();
    assert_eq!(Hangup::from_form(&form).unwrap().call_status, "completed");
}
