use super::*;

#[test]
fn an_answer_reads_the_same_from_a_get_and_a_post() {
    let query = "from=447700900000&to=447700900001&uuid=aaaaaaaa-bbbb-cccc-dddd-0123456789ab\
                 &conversation_uuid=CON-1&region_url=https%3A%2F%2Fapi-eu-1.vonage.com";
    let json = br#"{"from":"447700900000","to":"447700900001","uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","conversation_uuid":"CON-1"}"#;
    let expected = Answer {
        call_id: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into(),
        from: "+447700900000".into(),
        to: "+447700900001".into(),
    };
    assert_eq!(Answer::from_query(query), Ok(expected.clone()));
    assert_eq!(Answer::from_json(json), Ok(expected));
}

#[test]
fn an_answer_without_uuid_uses_the_conversation_and_refuses_bad_ids() {
    let a = Answer::from_json(br#"{"to":"447700900001","conversation_uuid":"CON-9"}"#).unwrap();
    assert_eq!(a.call_id, "CON-9");
    assert_eq!(a.from, "", "a withheld caller stays withheld");
    assert_eq!(
        Answer::from_json(br#"{"from":"1","to":"2"}"#),
        Err(PayloadError::Missing("uuid"))
    );
    assert_eq!(
        Answer::from_json(br#"{"from":"1","to":"2","uuid":"a b"}"#),
        Err(PayloadError::Invalid("uuid"))
    );
    assert_eq!(
        Answer::from_json(br#"{"from":"1","uuid":"u"}"#),
        Err(PayloadError::Missing("to"))
    );
    assert_eq!(Answer::from_json(b"[1]"), Err(PayloadError::Shape));
    assert_eq!(
        Answer::from_query("uuid=a&uuid=b&to=1"),
        Err(PayloadError::Invalid("uuid"))
    );
}

#[test]
fn input_digits_and_a_timeout() {
    let keyed = br#"{"uuid":"u1","conversation_uuid":"CON-1","dtmf":{"digits":"40012345","timed_out":false},"speech":{"results":[]}}"#;
    assert_eq!(
        Input::from_json(keyed),
        Ok(Input {
            call_id: "u1".into(),
            digits: Some("40012345".into())
        })
    );
    let silent = br#"{"uuid":"u1","dtmf":{"digits":"","timed_out":true}}"#;
    assert_eq!(Input::from_json(silent).unwrap().digits, None);
}

#[test]
fn events_with_and_without_a_status() {
    let done = br#"{"uuid":"u1","status":"completed","direction":"inbound","duration":"12"}"#;
    assert_eq!(
        Event::from_json(done).unwrap().status.as_deref(),
        Some("completed")
    );
    let transfer = br#"{"conversation_uuid_from":"CON-1","conversation_uuid":"CON-2","type":"transfer","uuid":"u1"}"#;
    assert_eq!(Event::from_json(transfer).unwrap().status, None);
}

fn receipt(text: &str, json: bool) -> Result<Receipt, PayloadError> {
    Receipt::from_params(&receipt_params(text.as_bytes(), json)?)
}

#[test]
fn receipts_as_json_form_or_query() {
    let json = r#"{"msisdn":"447700900000","to":"AcmeInc","network-code":"12345","messageId":"0A0000001234567B","price":"0.03330000","status":"delivered","scts":"2001011400","err-code":"0","api-key":"abcd1234","message-timestamp":"2020-01-01 12:00:00"}"#;
    let expected = Receipt {
        message_id: "0A0000001234567B".into(),
        status: "delivered".into(),
        error_code: None,
    };
    assert_eq!(receipt(json, true), Ok(expected.clone()));
    let form = "msisdn=447700900000&messageId=0A0000001234567B&status=delivered&err-code=0";
    assert_eq!(receipt(form, false), Ok(expected));
    let failed = receipt("messageId=X1&status=failed&err-code=6", false).unwrap();
    assert_eq!(failed.error_code.as_deref(), Some("6"));
    let numbers = receipt(r#"{"messageId":7,"status":"delivered","err-code":2}"#, true);
    assert_eq!(numbers.unwrap().error_code.as_deref(), Some("2"));
    assert_eq!(
        receipt("status=delivered", false),
        Err(PayloadError::Missing("messageId"))
    );
    assert_eq!(
        receipt("messageId=X1", false),
        Err(PayloadError::Missing("status"))
    );
    assert_eq!(
        receipt("messageId=X1&messageId=X2&status=delivered", false),
        Err(PayloadError::Invalid("messageId"))
    );
    assert_eq!(receipt("[1]", true), Err(PayloadError::Shape));
}
