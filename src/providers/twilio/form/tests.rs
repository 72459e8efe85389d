use super::*;
use proptest::prelude::*;

const CALL_SID: &str = "CA0123456789abcdef0123456789abcdef";
const MESSAGE_SID: &str = "SM0123456789abcdef0123456789abcdef";

fn form(body: &str) -> Form {
    match Form::parse(body.as_bytes()) {
        Ok(form) => form,
        Err(e) => panic!("test body should parse: {e}"),
    }
}

#[test]
fn decodes_plus_percent_and_keeps_repeated_keys_in_order() {
    let f = form("Digits=5678&From=%2B14155550100&Digits=1234&Body=It%27s+amazing&Flag");
    assert_eq!(f.get("From"), Some("+14155550100"));
    assert_eq!(f.get("Digits"), Some("5678"));
    assert_eq!(f.get_all("Digits").collect::<Vec<_>>(), ["5678", "1234"]);
    assert_eq!(f.get("Body"), Some("It's amazing"));
    assert_eq!(f.get("Flag"), Some(""));
    assert_eq!(f.get("Nope"), None);
    assert_eq!(f.pairs().len(), 5);
}

#[test]
fn stray_percent_and_empty_segments_follow_the_whatwg_parser() {
    let f = form("&&a=100%&b=%zz&c=%4&=v&d==x&");
    assert_eq!(f.get("a"), Some("100%"));
    assert_eq!(f.get("b"), Some("%zz"));
    assert_eq!(f.get("c"), Some("%4"));
    assert_eq!(f.get(""), Some("v"));
    assert_eq!(f.get("d"), Some("=x"));
    assert_eq!(f.pairs().len(), 5);
}

#[test]
fn invalid_utf8_is_refused_rather_than_replaced() {
    assert_eq!(Form::parse(b"From=%FF"), Err(FormError::Malformed));
    assert_eq!(Form::parse(b"From=\xff"), Err(FormError::Malformed));
    assert_eq!(Form::parse(b"%C3=x"), Err(FormError::Malformed));
    // A multi-byte character split across two escapes is still fine.
    assert_eq!(form("n=%C3%B1").get("n"), Some("ñ"));
}

#[test]
fn empty_body_is_an_empty_form() {
    assert!(form("").pairs().is_empty());
}

#[test]
fn call_sid_must_be_ca_and_32_hex_digits() {
    assert!(CallSid::parse(CALL_SID).is_ok());
    assert!(CallSid::parse("CA0123456789ABCDEF0123456789ABCDEF").is_ok());
    for bad in [
        "",
        "CA",
        "CA1234567890ABCDE",
        "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "SM0123456789abcdef0123456789abcdef",
        "ca0123456789abcdef0123456789abcdef",
        "CA0123456789abcdef0123456789abcdef0",
        "CA0123456789abcdef0123456789abcde",
        "CA0123456789abcdef0123456789abcdé",
        " CA0123456789abcdef0123456789abcdef",
    ] {
        assert_eq!(
            CallSid::parse(bad),
            Err(FormError::Invalid("CallSid")),
            "{bad:?}"
        );
    }
}

#[test]
fn message_sid_accepts_sms_and_mms_prefixes_only() {
    assert!(MessageSid::parse(MESSAGE_SID).is_ok());
    assert!(MessageSid::parse("MM0123456789abcdef0123456789abcdef").is_ok());
    for bad in [
        "",
        "CA0123456789abcdef0123456789abcdef",
        "MG0123456789abcdef0123456789abcdef",
        "SM0123456789abcdef0123456789abcdeg",
    ] {
        assert_eq!(
            MessageSid::parse(bad),
            Err(FormError::Invalid("MessageSid")),
            "{bad:?}"
        );
    }
}

#[test]
fn sids_print_plainly() {
    let sid = CallSid::parse(CALL_SID).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(format!("{sid}"), CALL_SID);
    assert_eq!(format!("{sid:?}"), CALL_SID);
    assert_eq!(sid.as_str(), CALL_SID);
}

#[test]
fn voice_webhook_reads_a_realistic_inbound_call() {
    let body = format!(
        "AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01\
         &CallSid={CALL_SID}&CallStatus=ringing&Called=%2B14155550199\
         &Caller=%2B266696687&Direction=inbound&From=%2B266696687\
         &StirVerstat=TN-Validation-Passed-A&To=%2B14155550199&CallerName=Contoso+IT"
    );
    let hook = VoiceWebhook::try_from(&form(&body)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hook.call_sid.as_str(), CALL_SID);
    assert_eq!(hook.account_sid, "AC0123456789abcdef0123456789abcdef");
    assert_eq!(hook.from, "+266696687");
    assert_eq!(hook.to, "+14155550199");
    assert_eq!(hook.call_status.as_deref(), Some("ringing"));
    assert_eq!(hook.stir_verstat.as_deref(), Some("TN-Validation-Passed-A"));
    assert_eq!(hook.caller_name.as_deref(), Some("Contoso IT"));
}

#[test]
fn voice_webhook_keeps_an_empty_from_and_drops_empty_optionals() {
    let body = format!("CallSid={CALL_SID}&AccountSid=AC1&From=&To=%2B1&StirVerstat=&CallerName=");
    let hook = VoiceWebhook::from_form(&form(&body)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hook.from, "");
    assert_eq!(hook.call_status, None);
    assert_eq!(hook.stir_verstat, None);
    assert_eq!(hook.caller_name, None);
}

#[test]
fn voice_webhook_names_the_missing_field() {
    let cases = [
        ("AccountSid=AC1&From=x&To=y".to_owned(), "CallSid"),
        (format!("CallSid={CALL_SID}&From=x&To=y"), "AccountSid"),
        (format!("CallSid={CALL_SID}&AccountSid=AC1&To=y"), "From"),
        (format!("CallSid={CALL_SID}&AccountSid=AC1&From=x"), "To"),
    ];
    for (body, field) in cases {
        assert_eq!(
            VoiceWebhook::from_form(&form(&body)),
            Err(FormError::Missing(field)),
            "{body}"
        );
    }
}

#[test]
fn voice_webhook_rejects_a_malformed_call_sid() {
    let body = "CallSid=CA1234567890ABCDE&AccountSid=AC1&From=x&To=y";
    assert_eq!(
        VoiceWebhook::from_form(&form(body)),
        Err(FormError::Invalid("CallSid"))
    );
}

#[test]
fn differing_repeats_of_a_single_valued_field_are_refused() {
    let other = "CAffffffffffffffffffffffffffffffff";
    let body = format!("CallSid={CALL_SID}&CallSid={other}&Digits=1");
    assert_eq!(
        GatherWebhook::from_form(&form(&body)),
        Err(FormError::Repeated("CallSid"))
    );
    let body = format!("CallSid={CALL_SID}&Digits=1&Digits=2");
    assert_eq!(
        GatherWebhook::from_form(&form(&body)),
        Err(FormError::Repeated("Digits"))
    );
    // An identical repeat says nothing new and is accepted.
    let body = format!("CallSid={CALL_SID}&CallSid={CALL_SID}&Digits=1");
    assert!(GatherWebhook::from_form(&form(&body)).is_ok());
}

#[test]
fn gather_webhook_digits_are_optional() {
    let hook = GatherWebhook::from_form(&form(&format!("CallSid={CALL_SID}&Digits=40012345")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hook.digits.as_deref(), Some("40012345"));
    let hook = GatherWebhook::from_form(&form(&format!("CallSid={CALL_SID}&Digits=")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hook.digits, None);
    assert_eq!(
        GatherWebhook::from_form(&form("Digits=1")),
        Err(FormError::Missing("CallSid"))
    );
}

#[test]
fn status_webhook_parses_the_sequence_number() {
    let hook = StatusWebhook::from_form(&form(&format!(
        "CallSid={CALL_SID}&CallStatus=completed&SequenceNumber=3"
    )))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hook.call_status, "completed");
    assert_eq!(hook.sequence_number, Some(3));

    let hook = StatusWebhook::from_form(&form(&format!("CallSid={CALL_SID}&CallStatus=busy")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hook.sequence_number, None);

    for bad in ["-1", "x", "1.5", "99999999999999999999"] {
        assert_eq!(
            StatusWebhook::from_form(&form(&format!(
                "CallSid={CALL_SID}&CallStatus=completed&SequenceNumber={bad}"
            ))),
            Err(FormError::Invalid("SequenceNumber")),
            "{bad}"
        );
    }
    assert_eq!(
        StatusWebhook::from_form(&form(&format!("CallSid={CALL_SID}"))),
        Err(FormError::Missing("CallStatus"))
    );
    assert_eq!(
        StatusWebhook::from_form(&form(&format!("CallSid={CALL_SID}&CallStatus="))),
        Err(FormError::Invalid("CallStatus"))
    );
}

#[test]
fn message_status_webhook_reads_the_error_code() {
    let hook = MessageStatusWebhook::from_form(&form(&format!(
        "MessageSid={MESSAGE_SID}&MessageStatus=undelivered&ErrorCode=30003"
    )))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hook.message_sid.as_str(), MESSAGE_SID);
    assert_eq!(hook.message_status, "undelivered");
    assert_eq!(hook.error_code.as_deref(), Some("30003"));

    let hook = MessageStatusWebhook::from_form(&form(&format!(
        "MessageSid={MESSAGE_SID}&MessageStatus=delivered"
    )))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hook.error_code, None);

    assert_eq!(
        MessageStatusWebhook::from_form(&form("MessageSid=SM1&MessageStatus=sent")),
        Err(FormError::Invalid("MessageSid"))
    );
    assert_eq!(
        MessageStatusWebhook::from_form(&form(&format!("MessageSid={MESSAGE_SID}"))),
        Err(FormError::Missing("MessageStatus"))
    );
}

#[test]
fn errors_never_echo_values() {
    let secretish = "+14155550100";
    let body = format!("CallSid={CALL_SID}&CallStatus=x&SequenceNumber={secretish}x");
    let err = StatusWebhook::from_form(&form(&body)).err();
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(!text.is_empty());
    assert!(!text.contains(secretish), "{text}");
}

proptest! {
    // Whatever serde_urlencoded writes, the strict decoder reads back.
    #[test]
    fn decodes_whatever_serde_urlencoded_encodes(
        pairs in proptest::collection::vec((".*", ".*"), 0..8)
    ) {
        let encoded = serde_urlencoded::to_string(&pairs)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decode_pairs(encoded.as_bytes()), Ok(pairs));
    }

    // On arbitrary bytes the decoder never panics, and whenever it accepts
    // a body it agrees exactly with the lossy WHATWG parser.
    #[test]
    fn agrees_with_serde_urlencoded_on_arbitrary_bytes(
        body in proptest::collection::vec(
            prop_oneof![
                Just(b'%'), Just(b'+'), Just(b'&'), Just(b'='),
                Just(b'A'), Just(b'f'), Just(b'3'), any::<u8>()
            ],
            0..64,
        )
    ) {
        if let Ok(pairs) = decode_pairs(&body) {
            let lossy: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(pairs, lossy);
        }
    }

    #[test]
    fn typed_parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(form) = Form::parse(&body) {
            let _ = VoiceWebhook::from_form(&form);
            let _ = GatherWebhook::from_form(&form);
            let _ = StatusWebhook::from_form(&form);
            let _ = MessageStatusWebhook::from_form(&form);
        }
    }
}
