//! Parsed hours read back: the days a rule covers, their runs for words,
//! ranges and clock times as written.

use super::*;

fn days_of(spec: &str) -> DaySet {
    Hours::parse(spec).unwrap().rules()[0].days
}

#[test]
fn a_day_set_lists_its_days_monday_first_and_groups_them_into_runs() {
    let set = days_of("sun,mon-wed,fri 09:00-10:00");
    assert_eq!(set.days().collect::<Vec<_>>(), [0, 1, 2, 4, 6]);
    assert_eq!(set.runs(), [(0, 2), (4, 4), (6, 6)]);
    assert_eq!(days_of("sat 09:00-10:00").runs(), [(5, 5)]);
    assert_eq!(days_of("tue,thu 09:00-10:00").runs(), [(1, 1), (3, 3)]);
    assert_eq!(DaySet::EVERY_DAY.days().count(), 7);
    assert_eq!(DaySet::EVERY_DAY.runs(), [(0, 6)]);
    // A span across the week end is two runs in Monday-first order.
    assert_eq!(days_of("fri-mon 09:00-10:00").runs(), [(0, 0), (4, 6)]);
}

#[test]
fn only_rules_for_some_weekdays_keep_business_days() {
    let hours =
        Hours::parse("daily 00:00-08:00; mon-fri 09:00-18:00; sat-sun 10:00-12:00").unwrap();
    let keeps: Vec<bool> = hours
        .rules()
        .iter()
        .map(Rule::keeps_business_days)
        .collect();
    assert_eq!(keeps, [false, true, true]);
    assert_eq!(days_of("mon-sun 09:00-10:00"), DaySet::EVERY_DAY);
    assert!(Hours::AlwaysOpen.rules().is_empty());
    assert!(Hours::AlwaysOpen.is_open(6, 0, true));
}

#[test]
fn ranges_and_times_read_back_as_written() {
    let hours = Hours::parse("mon 00:00-09:30, 12:05-24:00").unwrap();
    let ranges: Vec<String> = hours.rules()[0]
        .ranges
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(ranges, ["00:00-09:30", "12:05-24:00"]);
    assert_eq!(
        hours.rules()[0].ranges[1],
        TimeRange {
            start: 12 * 60 + 5,
            end: DAY_MINUTES
        }
    );
    assert_eq!(clock(0), "00:00");
    assert_eq!(clock(9 * 60 + 7), "09:07");
    assert_eq!(clock(DAY_MINUTES), "24:00");
}

#[test]
fn a_range_holds_its_start_and_not_its_end() {
    let r = TimeRange {
        start: 540,
        end: 600,
    };
    assert!(!r.contains(539));
    assert!(r.contains(540) && r.contains(599));
    assert!(!r.contains(600));
}

#[test]
fn ranges_that_only_touch_do_not_overlap_in_either_order() {
    for spec in [
        "mon 09:00-12:00, 12:00-18:00",
        "mon 12:00-18:00, 09:00-12:00",
    ] {
        assert!(Hours::parse(spec).is_ok(), "{spec}");
    }
    for spec in [
        "mon 09:00-12:01, 12:00-18:00",
        "mon 12:00-18:00, 09:00-12:01",
    ] {
        let err = Hours::parse(spec).unwrap_err();
        assert!(
            matches!(err, HoursError::Overlap { day: "mon", .. }),
            "{spec}: {err}"
        );
    }
}

#[test]
fn times_are_two_digit_hours_and_minutes() {
    for bad in [
        "9:00", "09:0", "009:00", "09:000", "0900", "24:01", "23:60", "ab:cd",
    ] {
        let spec = format!("mon {bad}-23:00");
        assert_eq!(
            Hours::parse(&spec),
            Err(HoursError::BadTime(bad.to_string())),
            "{spec}"
        );
    }
    assert!(Hours::parse("mon 00:00-23:59").is_ok());
}
