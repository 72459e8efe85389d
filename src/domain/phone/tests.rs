use super::*;
use proptest::prelude::*;

fn e164(s: &str) -> E164 {
    E164::parse(s).expect("test number is valid")
}

#[test]
fn parses_valid_numbers_into_canonical_form() {
    assert_eq!(e164("+14155550100").as_str(), "+14155550100");
    assert_eq!(e164("  +1 (415) 555-0100 ").as_str(), "+14155550100");
    assert_eq!(e164("+86 138 0013 8000").as_str(), "+8613800138000");
    assert_eq!(e164("+49.1511.2345678").as_str(), "+4915112345678");
}

#[test]
fn keeps_national_leading_zeros() {
    // Italian fixed lines keep their leading 0 inside E.164.
    assert_eq!(e164("+39 06 1234 5678").as_str(), "+390612345678");
}

#[test]
fn refuses_invalid_numbers() {
    let cases = [
        ("", PhoneError::Empty),
        ("   ", PhoneError::Empty),
        ("14155550100", PhoneError::MissingPlus),
        ("tel:+14155550100", PhoneError::MissingPlus),
        ("+1-800-FLOWERS", PhoneError::InvalidCharacter),
        ("+14155550100;ext=12", PhoneError::InvalidCharacter),
        ("+1415555010x", PhoneError::InvalidCharacter),
        ("+\u{0661}\u{0662}\u{0663}", PhoneError::InvalidCharacter),
        ("+1234567890123456", PhoneError::TooLong),
        ("+1415", PhoneError::Invalid),
        ("+", PhoneError::Unparseable),
        ("+0123456789", PhoneError::Unparseable),
        ("+266696687", PhoneError::WithheldSentinel),
    ];
    for (input, expected) in cases {
        assert_eq!(E164::parse(input), Err(expected), "input {input:?}");
    }
    let long = format!("+1{}", " (2)".repeat(10));
    assert_eq!(E164::parse(&long), Err(PhoneError::TooLong));
}

#[test]
fn input_of_forty_characters_is_read_and_forty_one_is_too_long() {
    // MAX_INPUT_LEN is 40: generously formatted numbers up to it parse.
    let forty = format!("+1{}4155550100", " ".repeat(28));
    assert_eq!(forty.len(), MAX_INPUT_LEN);
    assert_eq!(e164(&forty).as_str(), "+14155550100");
    let forty_one = format!("+1{}4155550100", " ".repeat(29));
    assert_eq!(E164::parse(&forty_one), Err(PhoneError::TooLong));
}

#[test]
fn reports_country_code_and_region() {
    let us = e164("+14155550100");
    assert_eq!(us.country_code(), 1);
    assert_eq!(us.region().as_deref(), Some("US"));
    let cn = e164("+8613800138000");
    assert_eq!(cn.country_code(), 86);
    assert_eq!(cn.region().as_deref(), Some("CN"));
    let it = e164("+390612345678");
    assert_eq!(it.country_code(), 39);
    assert_eq!(it.region().as_deref(), Some("IT"));
    // International freephone (+800) belongs to no region: the metadata's
    // "001" is not a region code and is never shown as one.
    let freephone = e164("+800 1234 5678");
    assert_eq!(freephone.country_code(), 800);
    assert_eq!(freephone.region(), None);
}

/// What `region`'s fallback filter relies on (and the reason its `&&`
/// mutant is excluded as equivalent): every id in the metadata is either a
/// region code of two capitals or "001", the non-geographic entity.
#[test]
fn metadata_ids_are_two_capitals_or_001() {
    let util = &rlibphonenumber::PHONE_NUMBER_UTIL;
    let mut seen = 0;
    for code in 1..=999 {
        for region in util
            .get_regions_for_country_calling_code(code)
            .into_iter()
            .flatten()
        {
            let id = region.as_region_str();
            let id = id.as_str();
            let capitals = id.len() == 2 && id.bytes().all(|b| b.is_ascii_uppercase());
            assert!(capitals || id == "001", "+{code}: {id:?}");
            seen += 1;
        }
    }
    assert!(seen > 200, "only {seen} metadata entries");
}

#[test]
fn mask_hides_all_but_the_last_four_digits_in_international_grouping() {
    assert_eq!(e164("+8613800138000").mask(), "+86 *** **** 8000");
    assert_eq!(e164("+14155550100").mask(), "+1 ***-***-0100");
    assert_eq!(e164("+4915112345678").mask(), "+49 **** ***5678");
}

#[test]
fn mask_of_a_short_number_reveals_at_most_half() {
    // Niue numbers have four national digits.
    assert_eq!(e164("+6834002").mask(), "+683 **02");
}

#[test]
fn last_digits_are_a_suffix_of_the_number() {
    let n = e164("+8613800138000");
    assert_eq!(n.last_digits(4), "8000");
    assert_eq!(n.last_digits(0), "");
    assert_eq!(n.last_digits(99), "8613800138000");
}

#[test]
fn display_debug_and_serde() {
    let n = e164("+14155550100");
    assert_eq!(n.to_string(), "+14155550100");
    assert_eq!(AsRef::<str>::as_ref(&n), "+14155550100");
    assert_eq!(format!("{n:?}"), r#"E164("+14155550100")"#);
    let json = serde_json::to_string(&n).expect("serialize");
    assert_eq!(json, r#""+14155550100""#);
    let back: E164 = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, n);
    assert!(serde_json::from_str::<E164>(r#""+1415""#).is_err());
    assert!(serde_json::from_str::<E164>("14155550100").is_err());
}

#[test]
fn each_keypad_sentinel_is_withheld() {
    for s in WITHHELD_SENTINELS {
        assert_eq!(classify(s), CallerId::Withheld, "{s}");
        assert_eq!(classify(&format!(" {s}\n")), CallerId::Withheld, "{s}");
    }
    assert_eq!(classify("+266 696 687"), CallerId::Withheld);
}

#[test]
fn withheld_words_in_any_case_and_padding() {
    for s in [
        "anonymous",
        "Anonymous",
        "ANONYMOUS",
        " unknown ",
        "Unknown",
        "RESTRICTED",
        "restricted",
        "Private",
        "\tprivate\n",
        "",
        "   ",
    ] {
        assert_eq!(classify(s), CallerId::Withheld, "{s:?}");
    }
}

#[test]
fn client_identities() {
    assert_eq!(classify("client:alice"), CallerId::Client("alice".into()));
    assert_eq!(classify(" Client:Bob "), CallerId::Client("Bob".into()));
    assert_eq!(classify("client:"), CallerId::Other("client:".into()));
}

#[test]
fn sip_uris() {
    assert_eq!(
        classify("sip:alice@example.com"),
        CallerId::Sip("sip:alice@example.com".into())
    );
    assert_eq!(
        classify("SIPS:bob@example.com:5061"),
        CallerId::Sip("SIPS:bob@example.com:5061".into())
    );
    // A SIP URI whose user part is a number is still SIP, never E.164.
    assert_eq!(classify("sip:+14155550100@x").kind(), "sip");
}

#[test]
fn numbers_and_other_values() {
    assert_eq!(
        classify(" +14155550100 "),
        CallerId::E164(e164("+14155550100"))
    );
    assert_eq!(classify("+1415"), CallerId::Other("+1415".into()));
    assert_eq!(
        classify("14155550100"),
        CallerId::Other("14155550100".into())
    );
    assert_eq!(classify("266696687").kind(), "other");
    assert_eq!(classify("anonymous2").kind(), "other");
    assert_eq!(classify("é:x").kind(), "other");
}

#[test]
fn kinds_and_as_e164() {
    assert_eq!(classify("+14155550100").kind(), "e164");
    assert_eq!(classify("anonymous").kind(), "withheld");
    assert_eq!(classify("client:a").kind(), "client");
    assert_eq!(classify("sip:a@b").kind(), "sip");
    assert_eq!(classify("nope").kind(), "other");
    assert!(classify("+14155550100").as_e164().is_some());
    assert!(classify("client:a").as_e164().is_none());
}

proptest! {
    #[test]
    fn classify_never_panics(s in any::<String>()) {
        let _ = classify(&s);
    }

    #[test]
    fn classify_never_panics_on_number_like_input(s in "[+]?[0-9 ()+.-]{0,24}") {
        let _ = classify(&s);
    }

    /// Numbers of shapes every carrier plan allocates parse, and then
    /// round-trip, classify as E.164 and mask to the country code and the
    /// last digits.
    #[test]
    fn valid_numbers_parse_and_round_trip(s in prop_oneof![
        "\\+1(415|212|646|312)[2-9][0-9]{6}",
        "\\+1 (415|212|646|312) [2-9][0-9]{2}-[0-9]{4}",
        "\\+86 ?13[0-9]{9}",
        "\\+49 ?151[0-9]{8}",
    ]) {
        let n = E164::parse(&s);
        prop_assert!(n.is_ok(), "{s} did not parse: {n:?}");
        let n = n.unwrap();
        prop_assert_round_trips(&n)?;
    }

    /// Any '+' and digits either parse (and round-trip) or are refused as
    /// not a number of any plan, and then never classify as E.164.
    #[test]
    fn any_plus_digits_round_trip_or_are_refused(s in "\\+[1-9][0-9]{5,14}") {
        match E164::parse(&s) {
            Ok(n) => prop_assert_round_trips(&n)?,
            Err(e) => {
                prop_assert!(
                    matches!(e, PhoneError::Invalid | PhoneError::Unparseable | PhoneError::WithheldSentinel),
                    "{s}: {e:?}"
                );
                prop_assert!(classify(&s).as_e164().is_none(), "{s} classified as E.164");
            }
        }
    }
}

fn prop_assert_round_trips(n: &E164) -> Result<(), proptest::test_runner::TestCaseError> {
    let again = E164::parse(n.as_str());
    prop_assert_eq!(again.as_ref(), Ok(n));
    prop_assert_eq!(classify(n.as_str()), CallerId::E164(n.clone()));
    // The mask keeps the country code and reveals exactly the last digits
    // its rule allows (grouping may split them), every other digit a '*'.
    let mask = n.mask();
    let prefix = format!("+{}", n.country_code());
    prop_assert!(mask.starts_with(&prefix), "{}", mask);
    let national_len = n.as_str().len() - prefix.len();
    let revealed: String = mask[prefix.len()..]
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    prop_assert_eq!(revealed.len(), revealed_digits(national_len), "{}", mask);
    prop_assert_eq!(revealed.as_str(), n.last_digits(revealed.len()), "{}", mask);
    let stars = mask.chars().filter(|&c| c == '*').count();
    prop_assert_eq!(stars + revealed.len(), national_len, "{}", mask);
    Ok(())
}
