//! A profile's own rules: which channels it accepts and where its PINs go.

use super::*;

fn profile(channels: &[Channel], email: Option<&str>, sms: Option<&str>) -> OrgProfile {
    OrgProfile {
        id: OrgId::parse("contoso").unwrap(),
        name: "Contoso".into(),
        account_number: "40012345".into(),
        registered_numbers: vec![E164::parse("+14155550100").unwrap()],
        channels: channels.to_vec(),
        contacts: Contacts {
            email: email.map(|e| EmailAddress::parse(e).unwrap()),
            sms: sms.map(|n| E164::parse(n).unwrap()),
        },
        language: None,
        severity_a: false,
    }
}

#[test]
fn a_profile_accepts_only_the_channels_it_lists() {
    let email_only = profile(&[Channel::Email], Some("it@contoso.example"), None);
    assert!(email_only.accepts(Channel::Email));
    assert!(!email_only.accepts(Channel::Sms));
    let both = profile(&[Channel::Sms, Channel::Email], None, None);
    assert!(both.accepts(Channel::Email) && both.accepts(Channel::Sms));
}

#[test]
fn pins_go_to_the_registered_contact_of_the_channel_and_its_masked_form_is_shown() {
    let org = profile(
        &[Channel::Email, Channel::Sms],
        Some("it-admin@Contoso.Example"),
        Some("+14155550199"),
    );
    let email = org.destination(Channel::Email).expect("an email contact");
    assert_eq!(email.address, "it-admin@contoso.example");
    assert_eq!(email.masked, "i***@contoso.example");
    let sms = org.destination(Channel::Sms).expect("an SMS contact");
    assert_eq!(sms.address, "+14155550199");
    assert_eq!(sms.masked, "+1 ***-***-0199");
    let numbers: Vec<&str> = org.numbers().map(E164::as_str).collect();
    assert_eq!(numbers, ["+14155550100"]);
}

#[test]
fn a_channel_without_its_contact_has_no_destination() {
    let org = profile(&[Channel::Email, Channel::Sms], None, Some("+14155550199"));
    assert_eq!(org.destination(Channel::Email), None);
    let org = profile(
        &[Channel::Email, Channel::Sms],
        Some("it@contoso.example"),
        None,
    );
    assert_eq!(org.destination(Channel::Sms), None);
}

#[test]
fn an_org_id_reads_as_itself_and_debugs_with_its_type() {
    let id = OrgId::parse("contoso-eu").unwrap();
    assert_eq!(id.as_ref(), "contoso-eu");
    assert_eq!(format!("{id:?}"), r#"OrgId("contoso-eu")"#);
    assert_eq!("contoso-eu".parse::<OrgId>(), Ok(id));
    assert_eq!("Contoso".parse::<OrgId>(), Err(OrgIdError));
}

#[test]
fn a_list_of_no_import_errors_is_empty() {
    let none = ImportErrors { errors: Vec::new() };
    assert_eq!((none.len(), none.is_empty()), (0, true));
    assert_eq!(none.to_string(), "");
}
