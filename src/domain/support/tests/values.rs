//! The desk's small values: severities, line ids, and a line's keys.

use super::*;

#[test]
fn severities_have_one_string_form_each_and_parse_back() {
    let forms: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(forms, ["A", "B", "C"]);
    for s in Severity::ALL {
        assert_eq!(s.to_string(), s.as_str());
        assert_eq!(Severity::parse(s.as_str()), Ok(s));
    }
}

#[test]
fn a_severity_is_parsed_exactly_and_refused_in_words() {
    for bad in ["", "a", "D", " A", "AB"] {
        let err = Severity::parse(bad).unwrap_err();
        assert_eq!(err, UnknownSeverity(bad.to_string()));
        assert!(err.to_string().contains("is not a severity"), "{err}");
    }
}

#[test]
fn line_ids_are_one_to_thirty_two_lowercase_letters_digits_dashes_underscores() {
    let longest = "x".repeat(32);
    for ok in [
        "a",
        "technical",
        "line-2",
        "after_hours",
        "0",
        longest.as_str(),
    ] {
        let id = LineId::parse(ok).unwrap_or_else(|_| panic!("{ok:?} is a line id"));
        assert_eq!(id.as_str(), ok);
        assert_eq!(id.to_string(), ok);
    }
    let too_long = "x".repeat(33);
    for bad in [
        "",
        too_long.as_str(),
        "Technical",
        "tech nical",
        "tech.x",
        "tech/x",
        "é",
    ] {
        assert_eq!(LineId::parse(bad), Err(LineIdError), "{bad:?}");
    }
}

fn technical() -> Line {
    Line {
        id: LineId::parse("technical").unwrap(),
        digit: '1',
        severities: vec![Severity::A, Severity::B, Severity::C],
        hours: LineHours::One(Hours::AlwaysOpen),
        queue: "technical".into(),
        after_hours_queue: None,
    }
}

#[test]
fn severity_keys_are_places_in_the_list_from_one() {
    let mut line = technical();
    line.severities = vec![Severity::B, Severity::A, Severity::C];
    assert_eq!(line.severity_for_key("1"), Some(Severity::B));
    assert_eq!(line.severity_for_key("2"), Some(Severity::A));
    assert_eq!(line.severity_for_key("3"), Some(Severity::C));
    for bad in ["0", "4", "", "x", "-1", "11"] {
        assert_eq!(line.severity_for_key(bad), None, "{bad:?}");
    }
    assert_eq!(line.key_for(Severity::B), Some(1));
    assert_eq!(line.key_for(Severity::A), Some(2));
    assert_eq!(line.key_for(Severity::C), Some(3));
    line.severities = vec![Severity::C];
    assert_eq!(line.key_for(Severity::C), Some(1));
    assert_eq!(line.key_for(Severity::A), None);
    let full = technical();
    for s in Severity::ALL {
        let key = full.key_for(s).unwrap().to_string();
        assert_eq!(full.severity_for_key(&key), Some(s));
    }
}

#[test]
fn keying_nothing_gets_the_least_urgent_and_no_contract_gets_the_most_urgent_other() {
    let mut line = technical();
    assert_eq!(line.lowest_severity(), Some(Severity::C));
    assert_eq!(line.offer_instead_of_a(), Some(Severity::B));
    line.severities = vec![Severity::C, Severity::A];
    assert_eq!(line.lowest_severity(), Some(Severity::C));
    assert_eq!(line.offer_instead_of_a(), Some(Severity::C));
    line.severities = vec![Severity::A];
    assert_eq!(line.lowest_severity(), Some(Severity::A));
    assert_eq!(line.offer_instead_of_a(), None);
    line.severities = vec![];
    assert_eq!(line.lowest_severity(), None);
    assert_eq!(line.offer_instead_of_a(), None);
}

#[test]
fn a_line_is_found_by_its_one_digit_or_its_id() {
    let mut billing = technical();
    billing.id = LineId::parse("billing").unwrap();
    billing.digit = '2';
    let desk = Desk {
        time_zone: TimeZone::UTC,
        time_zone_name: "UTC".into(),
        holidays: Default::default(),
        lines: vec![technical(), billing],
    };
    assert_eq!(
        desk.line_for_digit("1").map(|l| l.id.as_str()),
        Some("technical")
    );
    assert_eq!(
        desk.line_for_digit("2").map(|l| l.id.as_str()),
        Some("billing")
    );
    for bad in ["", "3", "12", "21", "11", "#"] {
        assert!(desk.line_for_digit(bad).is_none(), "{bad:?}");
    }
    assert_eq!(desk.line("billing").map(|l| l.digit), Some('2'));
    assert!(desk.line("presales").is_none());
}

#[test]
fn only_an_open_or_closed_decision_says_whether_it_was_inside_hours() {
    assert_eq!(
        Decision::Open {
            queue: "technical",
            priority: 20
        }
        .inside_hours(),
        Some(true)
    );
    assert_eq!(
        Decision::Closed {
            after_hours_queue: None
        }
        .inside_hours(),
        Some(false)
    );
    assert_eq!(
        Decision::NeedsContract {
            offer: Some(Severity::B)
        }
        .inside_hours(),
        None
    );
}
