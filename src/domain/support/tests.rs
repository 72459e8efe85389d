use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::date;
use proptest::prelude::*;

use super::*;

fn line(id: &str, digit: char, severities: &[Severity], hours: LineHours) -> Line {
    Line {
        id: LineId::parse(id).unwrap(),
        digit,
        severities: severities.to_vec(),
        hours,
        queue: id.to_string(),
        after_hours_queue: None,
    }
}

/// The seed's desk from DESIGN.md, in a chosen zone.
fn desk_in(zone: &str, holidays: &[Date]) -> Desk {
    let by_sev = BTreeMap::from([
        (Severity::A, Hours::parse("24x7").unwrap()),
        (Severity::B, Hours::parse("daily 09:00-24:00").unwrap()),
        (Severity::C, Hours::parse("daily 09:00-24:00").unwrap()),
    ]);
    let mut technical = line(
        "technical",
        '1',
        &[Severity::A, Severity::B, Severity::C],
        LineHours::BySeverity(by_sev),
    );
    technical.after_hours_queue = Some("callbacks".into());
    let business = || LineHours::One(Hours::parse("mon-fri 09:00-18:00").unwrap());
    Desk {
        time_zone: TimeZone::get(zone).unwrap(),
        time_zone_name: zone.to_string(),
        holidays: holidays.iter().copied().collect(),
        lines: vec![
            technical,
            line("billing", '2', &[Severity::B, Severity::C], business()),
            line("presales", '3', &[], business()),
        ],
    }
}

fn at(zone: &str, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> Timestamp {
    date(y, mo, d)
        .at(h, mi, 0, 0)
        .in_tz(zone)
        .unwrap()
        .timestamp()
}

fn decide(desk: &Desk, line: &str, sev: Option<Severity>, contract: bool, t: Timestamp) -> String {
    let choice = Choice {
        line: desk.line(line).unwrap(),
        severity: sev,
    };
    match route(
        desk,
        OrgTerms {
            severity_a: contract,
        },
        choice,
        t,
    ) {
        Decision::NeedsContract { offer } => format!("contract:{offer:?}"),
        Decision::Open { queue, priority } => format!("open:{queue}:{priority}"),
        Decision::Closed { after_hours_queue } => format!("closed:{after_hours_queue:?}"),
    }
}

const BJ: &str = "Asia/Shanghai";

#[test]
fn severity_a_at_three_in_the_morning_reaches_technical_first_with_the_contract() {
    let desk = desk_in(BJ, &[]);
    let t = at(BJ, 2027, 3, 3, 3, 0);
    assert_eq!(
        decide(&desk, "technical", Some(Severity::A), true, t),
        "open:technical:30"
    );
    assert_eq!(
        decide(&desk, "technical", Some(Severity::A), false, t),
        "contract:Some(B)"
    );
}

#[test]
fn severity_b_is_closed_until_nine_and_open_up_to_midnight() {
    let desk = desk_in(BJ, &[]);
    let b = Some(Severity::B);
    let closed = "closed:Some(\"callbacks\")";
    assert_eq!(
        decide(&desk, "technical", b, true, at(BJ, 2027, 3, 3, 3, 0)),
        closed
    );
    assert_eq!(
        decide(&desk, "technical", b, true, at(BJ, 2027, 3, 3, 8, 59)),
        closed
    );
    assert_eq!(
        decide(&desk, "technical", b, true, at(BJ, 2027, 3, 3, 9, 0)),
        "open:technical:20"
    );
    assert_eq!(
        decide(&desk, "technical", b, true, at(BJ, 2027, 3, 3, 23, 59)),
        "open:technical:20"
    );
    // Midnight is the end of the day (24:00), not inside it.
    assert_eq!(
        decide(&desk, "technical", b, true, at(BJ, 2027, 3, 4, 0, 0)),
        closed
    );
}

#[test]
fn billing_keeps_business_days_and_closes_on_weekends_and_holidays() {
    let holiday = date(2027, 2, 17);
    let desk = desk_in(BJ, &[holiday]);
    let c = Some(Severity::C);
    // 2027-02-20 is a Saturday, 2027-02-17 a Wednesday.
    assert_eq!(
        decide(&desk, "billing", c, false, at(BJ, 2027, 2, 20, 11, 0)),
        "closed:None"
    );
    assert_eq!(
        decide(&desk, "billing", c, false, at(BJ, 2027, 2, 17, 11, 0)),
        "closed:None"
    );
    assert_eq!(
        decide(&desk, "billing", c, false, at(BJ, 2027, 2, 18, 11, 0)),
        "open:billing:10"
    );
    // Daily hours run on holidays: 365 days a year.
    assert_eq!(
        decide(&desk, "technical", c, false, at(BJ, 2027, 2, 17, 11, 0)),
        "open:technical:10"
    );
}

#[test]
fn presales_takes_weekday_afternoons_with_no_severity() {
    let desk = desk_in(BJ, &[]);
    assert_eq!(
        decide(&desk, "presales", None, false, at(BJ, 2027, 3, 3, 15, 30)),
        "open:presales:0"
    );
    assert_eq!(
        decide(&desk, "presales", None, false, at(BJ, 2027, 3, 3, 18, 0)),
        "closed:None"
    );
}

#[test]
fn hours_follow_the_local_clock_across_a_dst_change() {
    // Berlin moves to summer time on 2027-03-28 at 02:00 local.
    let zone = "Europe/Berlin";
    let desk = desk_in(zone, &[]);
    let utc = |d: i8, h: i8| {
        date(2027, 3, d)
            .at(h, 30, 0, 0)
            .in_tz("UTC")
            .unwrap()
            .timestamp()
    };
    let b = Some(Severity::B);
    // 07:30 UTC is 08:30 CET on Saturday (closed), 09:30 CEST on Sunday (open).
    assert!(decide(&desk, "technical", b, false, utc(27, 7)).starts_with("closed"));
    assert!(decide(&desk, "technical", b, false, utc(28, 7)).starts_with("open"));
    // 22:30 UTC is 23:30 CET (open) before, 00:30 CEST (closed) after.
    assert!(decide(&desk, "technical", b, false, utc(27, 22)).starts_with("open"));
    assert!(decide(&desk, "technical", b, false, utc(28, 22)).starts_with("closed"));
}

#[test]
fn a_fixed_offset_zone_chooses_the_local_hour() {
    // Etc/GMT-8 is UTC+8 (POSIX signs are inverted).
    let desk = desk_in("Etc/GMT-8", &[]);
    let t = date(2027, 3, 2)
        .at(19, 0, 0, 0)
        .in_tz("UTC")
        .unwrap()
        .timestamp();
    // 19:00 UTC Tuesday is 03:00 Wednesday at UTC+8.
    assert_eq!(
        decide(&desk, "technical", Some(Severity::B), true, t),
        "closed:Some(\"callbacks\")"
    );
}

#[test]
fn hours_parse_several_ranges_and_the_end_of_day() {
    let h = Hours::parse("mon-fri 09:00-12:00, 13:00-18:00; sat 10:00-14:00").unwrap();
    assert!(h.is_open(0, 9 * 60, false));
    assert!(!h.is_open(0, 12 * 60 + 30, false));
    assert!(h.is_open(4, 17 * 60 + 59, false));
    assert!(h.is_open(5, 10 * 60, false));
    assert!(!h.is_open(6, 11 * 60, false));
    let late = Hours::parse("daily 09:00-24:00").unwrap();
    assert!(late.is_open(6, DAY_MINUTES - 1, true));
    let wrap = Hours::parse("fri-mon 10:00-11:00").unwrap();
    assert!(wrap.is_open(6, 10 * 60, false) && wrap.is_open(0, 10 * 60, false));
    assert!(!wrap.is_open(2, 10 * 60, false));
}

#[test]
fn bad_hours_are_explained() {
    let err = |s: &str| Hours::parse(s).unwrap_err().to_string();
    assert!(err("").contains("is empty"));
    assert!(err("weekdays 09:00-18:00").contains("is not a day"));
    assert!(err("mon-fri 9-18").contains("not a time of day"));
    assert!(err("mon-fri 0900").contains("not a time range"));
    assert!(err("daily 18:00-09:00").contains("runs backwards"));
    assert!(err("daily 09:00-09:00").contains("is empty or runs backwards"));
    assert!(err("daily 09:00-25:00").contains("not a time of day"));
    assert!(err("daily 24:00-24:00").contains("runs backwards"));
    assert!(err("mon-fri 09:00-13:00, 12:00-18:00").contains("overlap on mon"));
    assert!(err("daily 09:00-18:00; sat 17:00-20:00").contains("overlap on sat"));
    assert!(err("mon-fri").contains("no time ranges"));
}

/// Local wall clock at UTC+8 computed by hand, independent of jiff:
/// (weekday Monday = 0, minute of day, civil date as days since epoch).
fn utc_plus_8(ms: i64) -> (u8, u16, i64) {
    let local = ms.div_euclid(60_000) + 8 * 60;
    let days = local.div_euclid(1440);
    // 1970-01-01 was a Thursday (Monday = 0 makes it 3).
    (
        (days + 3).rem_euclid(7) as u8,
        local.rem_euclid(1440) as u16,
        days,
    )
}

proptest! {
    #[test]
    fn fixed_offset_decisions_match_hand_computed_local_time(ms in 0i64..4_102_444_800_000) {
        let t = Timestamp::from_millisecond(ms).unwrap();
        let (weekday, minute, _) = utc_plus_8(ms);
        for zone in ["Etc/GMT-8", "Asia/Shanghai"] {
            if zone == "Asia/Shanghai" && ms < 700_000_000_000 {
                continue; // Shanghai kept DST until 1991.
            }
            let desk = desk_in(zone, &[]);
            let billing = desk.line("billing").unwrap();
            let expect = weekday < 5 && (9 * 60..18 * 60).contains(&minute);
            prop_assert_eq!(is_open(&desk, billing, Some(Severity::B), t), expect);
            let technical = desk.line("technical").unwrap();
            prop_assert_eq!(
                is_open(&desk, technical, Some(Severity::C), t),
                minute >= 9 * 60
            );
        }
    }

    #[test]
    fn a_holiday_closes_business_days_only(ms in 0i64..4_102_444_800_000) {
        let t = Timestamp::from_millisecond(ms).unwrap();
        let (_, _, days) = utc_plus_8(ms);
        let today = date(1970, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap();
        let plain = desk_in("Etc/GMT-8", &[]);
        let closed = desk_in("Etc/GMT-8", &[today]);
        for sev in [Severity::B, Severity::C] {
            let p = is_open(&plain, plain.line("technical").unwrap(), Some(sev), t);
            let c = is_open(&closed, closed.line("technical").unwrap(), Some(sev), t);
            prop_assert_eq!(p, c);
        }
        prop_assert!(!is_open(&closed, closed.line("billing").unwrap(), Some(Severity::B), t));
        prop_assert!(!is_open(&closed, closed.line("presales").unwrap(), None, t));
    }

    #[test]
    fn severity_a_with_the_contract_is_always_answered(
        ms in 0i64..4_102_444_800_000,
        zone in prop::sample::select(vec!["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Etc/GMT+11"]),
    ) {
        let t = Timestamp::from_millisecond(ms).unwrap();
        let holidays: BTreeSet<Date> = [date(2027, 2, 17)].into();
        let mut desk = desk_in(zone, &[]);
        desk.holidays = holidays;
        let technical = desk.line("technical").unwrap();
        let a = Choice { line: technical, severity: Some(Severity::A) };
        prop_assert_eq!(
            route(&desk, OrgTerms { severity_a: true }, a, t),
            Decision::Open { queue: "technical", priority: 30 }
        );
        prop_assert_eq!(
            route(&desk, OrgTerms { severity_a: false }, a, t),
            Decision::NeedsContract { offer: Some(Severity::B) }
        );
    }

    #[test]
    fn full_day_hours_are_open_at_every_instant_even_on_dst_days(
        ms in 0i64..4_102_444_800_000,
        zone in prop::sample::select(vec!["America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]),
    ) {
        let t = Timestamp::from_millisecond(ms).unwrap();
        let mut desk = desk_in(zone, &[]);
        desk.lines[2].hours = LineHours::One(Hours::parse("daily 00:00-24:00").unwrap());
        prop_assert!(is_open(&desk, &desk.lines[2], None, t));
    }
}

mod schedule;
mod values;
