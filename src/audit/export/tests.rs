use super::*;

#[test]
fn csv_quotes_and_defuses_formulas() {
    assert_eq!(csv_field("plain"), "plain");
    assert_eq!(csv_field("a,b"), "\"a,b\"");
    assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_field("=cmd()"), "'=cmd()");
}

/// JSONL is the event's JSON and a newline, with no header; CSV has a
/// header naming every column, then one row per event in that order.
#[test]
fn lines_follow_their_format() {
    use crate::audit::event::{EventKind, GENESIS, NewEvent, Outcome};
    let new = NewEvent::new(EventKind::OrgCreated, "admin:a", Outcome::Success)
        .org("org_1")
        .detail("name", "=x, y");
    let e = Event::from_new(3, 1_700_000_000_000, GENESIS, new);
    assert_eq!(header(Format::Jsonl), None);
    assert_eq!(
        line(Format::Jsonl, &e),
        Bytes::from(format!("{}\n", e.to_json()))
    );
    let head = header(Format::Csv).expect("a CSV header");
    assert!(head.starts_with(b"seq,at,kind,actor,org_id,"), "{head:?}");
    let row = String::from_utf8(line(Format::Csv, &e).to_vec()).unwrap();
    let start = format!("3,{},org_created,admin:a,org_1,,,,success,", rfc3339(e.at));
    assert!(row.starts_with(&start), "{row}");
    assert!(row.contains(r#""{""name"":""=x, y""}""#), "{row}");
    assert!(
        row.ends_with(&format!(",{}\n", hex::encode(e.hash))),
        "{row}"
    );
}
