use super::*;

fn failure(source: &str) -> Failure<'static> {
    Failure {
        kind: EventKind::AuthnTokenFail,
        actor: "anonymous",
        source: ClientKey::of(source.parse().unwrap()),
        path: "/v1/calls",
        reason: None,
    }
}

#[test]
fn one_event_opens_a_window_and_one_summary_closes_it() {
    let folder = FailureFolder::new(Duration::from_secs(60));
    let f = failure("192.0.2.1");
    assert_eq!(folder.record(&f, 0).len(), 1);
    for t in 1..300 {
        assert!(folder.record(&f, t).is_empty());
    }
    folder.refused(EventKind::AuthnTokenFail, f.source);
    assert!(folder.flush(59_999, false).is_empty(), "still open");
    let closed = folder.flush(60_000, false);
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].detail["count"], 299);
    assert_eq!(closed[0].detail["refused"], 1);
    assert!(folder.flush(120_000, true).is_empty(), "nothing left open");
}

#[test]
fn a_failure_after_the_window_writes_the_summary_and_opens_the_next() {
    let folder = FailureFolder::new(Duration::from_secs(60));
    let f = failure("2001:db8::1");
    folder.record(&f, 0);
    folder.record(&failure("2001:db8::2"), 10);
    let events = folder.record(&f, 60_000);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].detail["count"], 1);
    assert_eq!(events[0].detail["source"], "2001:db8::/64");
    assert!(events[0].detail.contains_key("window_start"));
    assert!(!events[1].detail.contains_key("window_start"));
}

#[test]
fn addresses_are_folded_apart_and_a_zero_window_folds_nothing() {
    let folder = FailureFolder::new(Duration::from_secs(60));
    assert_eq!(folder.record(&failure("192.0.2.1"), 0).len(), 1);
    assert_eq!(folder.record(&failure("192.0.2.2"), 0).len(), 1);
    let each = FailureFolder::new(Duration::ZERO);
    for t in 0..3 {
        assert_eq!(each.record(&failure("192.0.2.1"), t).len(), 1);
    }
}
