use super::*;
use crate::audit::event::{EventKind, GENESIS, NewEvent, Outcome};

fn exported() -> String {
    let e = NewEvent::new(
        EventKind::CallReceived,
        "provider:example",
        Outcome::Success,
    )
    .call("call_1")
    .detail("caller", "p:abc");
    Event::from_new(1, 1_700_000_000_000, GENESIS, e)
        .to_json()
        .to_string()
}

#[test]
fn an_exported_line_reads_back_as_the_same_event() {
    let line = exported();
    let e = parse(&line).expect("valid line");
    assert_eq!(e.to_json().to_string(), line);
}

#[test]
fn an_unknown_top_level_key_is_refused() {
    let line = exported().replacen('{', r#"{"note":"harmless?","#, 1);
    let err = parse(&line).expect_err("unknown key");
    assert!(err.contains("note"), "{err}");
}

#[test]
fn a_duplicate_key_in_detail_is_refused() {
    let line = exported().replace(
        r#""detail":{"caller":"p:abc"}"#,
        r#""detail":{"caller":"p:abc","caller":"p:xyz"}"#,
    );
    assert!(line.contains(r#""caller":"p:xyz""#));
    let err = parse(&line).expect_err("duplicate key");
    assert!(err.contains("caller"), "{err}");
}

#[test]
fn a_duplicate_key_at_any_depth_or_at_the_top_is_refused() {
    let nested = exported().replace(
        r#""detail":{"caller":"p:abc"}"#,
        r#""detail":{"x":{"k":1,"k":2}}"#,
    );
    assert!(parse(&nested).is_err());
    let top = exported().replacen('{', r#"{"seq":1,"#, 1);
    assert!(parse(&top).is_err());
}

/// Every JSON type a detail may hold reads back as itself (the strict
/// reader builds each one by hand), and an event's JSON is written back
/// byte for byte.
#[test]
fn every_json_type_in_detail_reads_back_unchanged() {
    let detail = serde_json::json!({
        "a": [true, false, null, "s"],
        "f": 1.5,
        "i": -3,
        "o": {"k": "v"},
        "u": u64::MAX,
    });
    let e = NewEvent::new(EventKind::RetentionRun, "system", Outcome::Success);
    let e = detail
        .as_object()
        .unwrap()
        .iter()
        .fold(e, |e, (k, v)| e.detail(k, v.clone()));
    let line = Event::from_new(7, 1_700_000_000_000, GENESIS, e)
        .to_json()
        .to_string();
    let back = parse(&line).expect("valid line");
    assert_eq!(back.detail, detail);
    assert_eq!(back.to_json().to_string(), line);
}
