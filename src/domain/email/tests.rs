use super::*;
use proptest::prelude::*;

#[test]
fn accepts_ordinary_addresses_and_lowercases_the_domain() {
    let a = EmailAddress::parse(" It-Admin@Contoso.Example ").expect("valid");
    assert_eq!(a.as_str(), "It-Admin@contoso.example");
    assert_eq!(a.domain(), "contoso.example");
    for ok in [
        "a@b.co",
        "first.last+tag@sub.example.org",
        "o'brien@example.ie",
        "x_y=z@xn--bcher-kva.example",
    ] {
        assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
    }
}

#[test]
fn refuses_malformed_addresses() {
    let long_local = format!("{}@example.com", "a".repeat(65));
    let long_total = format!("a@{}.com", "b.".repeat(130));
    let long_label = format!("a@{}.com", "b".repeat(64));
    let cases: Vec<(&str, EmailError)> = vec![
        ("", EmailError::Empty),
        ("plainaddress", EmailError::At),
        ("a@b@c.com", EmailError::At),
        ("a b@c.com", EmailError::Whitespace),
        ("a@c.com\r\nBcc: x@y.z", EmailError::Whitespace),
        ("a\u{0}@c.com", EmailError::Whitespace),
        ("@c.com", EmailError::LocalLength),
        (&long_local, EmailError::LocalLength),
        (&long_total, EmailError::TooLong),
        ("a<b>@c.com", EmailError::LocalCharacter),
        ("jöhn@c.com", EmailError::LocalCharacter),
        (".a@c.com", EmailError::LocalDots),
        ("a.@c.com", EmailError::LocalDots),
        ("a..b@c.com", EmailError::LocalDots),
        ("a@localhost", EmailError::DomainDots),
        ("a@", EmailError::DomainDots),
        ("a@-c.com", EmailError::DomainLabel),
        ("a@c-.com", EmailError::DomainLabel),
        ("a@c..com", EmailError::DomainLabel),
        ("a@c.com.", EmailError::DomainLabel),
        ("a@c_d.com", EmailError::DomainLabel),
        ("a@bücher.de", EmailError::DomainLabel),
        (&long_label, EmailError::DomainLabel),
    ];
    for (input, expected) in cases {
        assert_eq!(EmailAddress::parse(input), Err(expected), "{input:?}");
    }
}

#[test]
fn mask_shows_the_first_character_and_the_domain() {
    let a = EmailAddress::parse("it-admin@contoso.com").expect("valid");
    assert_eq!(a.mask(), "i***@contoso.com");
    let b = EmailAddress::parse("a@contoso.com").expect("valid");
    assert_eq!(b.mask(), "a***@contoso.com");
}

#[test]
fn serde_round_trip_validates() {
    let a = EmailAddress::parse("a@contoso.com").expect("valid");
    let json = serde_json::to_string(&a).expect("serialize");
    assert_eq!(json, r#""a@contoso.com""#);
    assert_eq!(
        serde_json::from_str::<EmailAddress>(&json).expect("deserialize"),
        a
    );
    assert!(serde_json::from_str::<EmailAddress>(r#""nope""#).is_err());
    assert_eq!(format!("{a:?}"), r#"EmailAddress("a@contoso.com")"#);
}

#[test]
fn lengths_are_accepted_up_to_their_bound_and_refused_one_past() {
    let local = "a".repeat(64);
    let domain =
        |last: usize| format!("{}.{}.{}", "b".repeat(63), "c".repeat(63), "d".repeat(last));
    let longest = format!("{local}@{}", domain(61));
    assert_eq!(longest.len(), 254);
    assert!(
        EmailAddress::parse(&longest).is_ok(),
        "254 characters, a 64-character local part, 63-character labels"
    );
    assert_eq!(
        EmailAddress::parse(&format!("{local}@{}", domain(62))),
        Err(EmailError::TooLong)
    );
}

#[test]
fn an_address_reads_back_as_its_normal_form() {
    let a: EmailAddress = "It@Contoso.Example".parse().expect("valid");
    assert_eq!(a.to_string(), "It@contoso.example");
    assert_eq!(a.as_ref(), "It@contoso.example");
    assert_eq!("nope".parse::<EmailAddress>(), Err(EmailError::At));
}

proptest! {
    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = EmailAddress::parse(&s);
    }

    #[test]
    fn parsed_addresses_reparse_to_themselves(
        s in "[a-zA-Z0-9.+_-]{1,20}@[a-zA-Z0-9-]{1,10}(\\.[a-zA-Z0-9-]{1,10}){1,3}"
    ) {
        if let Ok(a) = EmailAddress::parse(&s) {
            prop_assert_eq!(EmailAddress::parse(a.as_str()), Ok(a.clone()));
            prop_assert!(a.mask().ends_with(a.domain()));
        }
    }
}
