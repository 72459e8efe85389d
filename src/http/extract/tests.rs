use super::*;

fn words(e: ApiError) -> (String, String) {
    match e {
        ApiError::BadField { field, message } => (field, message),
        other => panic!("not a field error: {other:?}"),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Check {
    pin: String,
    limit: Option<i64>,
}

#[test]
fn a_pin_sent_as_a_number_is_named_but_never_repeated() {
    let (field, message) = words(json_body::<Check>(br#"{"pin": 565372}"#).unwrap_err());
    assert_eq!(field, "pin");
    assert!(!message.contains("565372"), "{message}");
    assert_eq!(message, "must be a string, got integer");
}

#[test]
fn an_unknown_field_is_named_with_the_accepted_ones() {
    let (field, message) =
        words(json_body::<Check>(br#"{"pin": "1", "destination": "x"}"#).unwrap_err());
    assert_eq!(field, "destination");
    assert_eq!(
        message,
        "is not a field of this request; accepted: pin or limit"
    );
}

#[test]
fn a_missing_field_and_broken_json_say_so_in_words() {
    let (field, message) = words(json_body::<Check>(b"{}").unwrap_err());
    assert_eq!((field.as_str(), message.as_str()), ("pin", "is required"));
    let (field, message) = words(json_body::<Check>(b"{\"pin\": ").unwrap_err());
    assert_eq!(field, "body");
    assert!(message.starts_with("ends too early (line 1"), "{message}");
    let (field, message) = words(json_body::<Check>(b"\"email\"").unwrap_err());
    assert_eq!(
        (field.as_str(), message.as_str()),
        ("body", "must be an object, got string")
    );
}
