use super::*;

#[test]
fn a_clock_starting_at_an_instant_reads_it_then_advances() {
    let start = 1_900_000_000_000;
    let clock = OffsetClock::starting_at(start);
    let read = clock.now_ms();
    assert!((start..start + 60_000).contains(&read), "{read}");
    clock.advance(std::time::Duration::from_secs(3600));
    assert!(clock.now_ms() >= read + 3_600_000);
}

#[test]
fn rfc3339_is_fixed_width_utc_and_round_trips() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339(1_795_066_987_123), "2026-11-19T05:43:07.123Z");
    for ms in [0, 1, 999, 1_000, 1_795_066_987_123, 4_102_444_800_000] {
        assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
    }
    assert_eq!(
        parse_rfc3339("2026-11-25T06:43:07+01:00"),
        parse_rfc3339("2026-11-25T05:43:07Z")
    );
    assert_eq!(parse_rfc3339("yesterday"), None);
}

#[test]
fn offset_clock_moves_forward() {
    let c = OffsetClock::default();
    let before = c.now_ms();
    c.advance(std::time::Duration::from_secs(3600));
    assert!(c.now_ms() - before >= 3_600_000);
}
