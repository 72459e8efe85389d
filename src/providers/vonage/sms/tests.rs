use super::*;

fn parts(json: &str) -> Vec<Part> {
    serde_json::from_str::<Answer>(json).unwrap().messages
}

#[test]
fn every_part_accepted_gives_the_first_message_id() {
    let two = parts(
        r#"{"message-count":"2","messages":[
            {"to":"447700900000","message-id":"0A01","status":"0"},
            {"to":"447700900000","message-id":"0A02","status":"0"}]}"#,
    );
    assert_eq!(accepted(&two, 200), Ok(Some("0A01".into())));
}

#[test]
fn throttling_and_internal_errors_are_tried_again_the_rest_is_final() {
    let refusal = |code: &str| {
        let json = format!(
            r#"{{"message-count":"1","messages":[{{"status":"{code}","error-text":"Bad number +447700900000"}}]}}"#
        );
        accepted(&parts(&json), 200).unwrap_err()
    };
    for code in ["1", "5"] {
        assert!(matches!(refusal(code), SendError::Transient(_)), "{code}");
    }
    for code in ["2", "3", "4", "9", "29"] {
        let err = refusal(code);
        assert!(matches!(err, SendError::Permanent(_)), "{code}");
        let text = err.to_string();
        assert!(text.contains(&format!("Vonage 200 code {code}")), "{text}");
        assert!(
            !text.contains("447700900000"),
            "the error text is not kept: {text}"
        );
    }
    assert!(matches!(accepted(&[], 200), Err(SendError::Transient(_))));
    let no_id = parts(r#"{"messages":[{"status":"0"}]}"#);
    assert!(matches!(
        accepted(&no_id, 200),
        Err(SendError::Transient(_))
    ));
}

#[test]
fn numbers_go_without_plus() {
    assert_eq!(without_plus(" +18005550122"), "18005550122");
    assert_eq!(without_plus("AcmeInc"), "AcmeInc");
}
