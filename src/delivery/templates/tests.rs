use super::*;

fn vars<'a>(language: Option<&'a str>, org: &'a str, pin: &'a str) -> PinVars<'a> {
    PinVars {
        language,
        org_name: org,
        pin,
        minutes: 10,
        support_name: "Contoso support desk",
    }
}

#[test]
fn every_language_fits_one_segment_and_carries_code_and_expiry() {
    for lang in [
        None,
        Some("en"),
        Some("de-DE"),
        Some("fr"),
        Some("es-MX"),
        Some("pt-BR"),
    ] {
        let sms = pin_sms(&vars(lang, "Contoso Ltd", "493817"));
        let limit = if is_gsm7(&sms.body) { 160 } else { 70 };
        assert!(
            sms.body.chars().count() <= limit,
            "{lang:?}: {} chars: {}",
            sms.body.chars().count(),
            sms.body
        );
        assert!(
            sms.body.contains("493817") && sms.body.contains("10"),
            "{lang:?}"
        );
        let email = pin_email(&vars(lang, "Contoso Ltd", "493817"));
        assert!(
            email.body.contains("493817")
                && email.body.contains("10")
                && email.subject.contains("Contoso Ltd")
        );
    }
    assert!(
        pin_email(&vars(Some("de"), "X", "1"))
            .subject
            .contains("Bestätigungscode")
    );
}

#[test]
fn chinese_pin_messages_fit_one_ucs2_segment_with_code_and_expiry() {
    for org in [
        "Acme 科技",
        "北京某某信息技术股份有限公司华东区域分公司客户服务中心",
    ] {
        let sms = pin_sms(&vars(Some("zh-CN"), org, "4938170012"));
        assert!(!is_gsm7(&sms.body));
        assert!(
            sms.body.chars().count() <= 70,
            "{} chars: {}",
            sms.body.chars().count(),
            sms.body
        );
        assert!(
            sms.body.contains("4938170012") && sms.body.contains("10分钟"),
            "{}",
            sms.body
        );
    }
    let email = pin_email(&vars(Some("zh"), "Acme 科技", "493817"));
    assert!(email.subject.contains("客服验证码") && email.body.contains("493817"));
    assert!(email.body.contains("10分钟"));
}

#[test]
fn pin_sms_fits_one_gsm7_segment_and_says_what_matters() {
    let r = pin_sms(&vars(None, "Contoso Ltd", "493817"));
    assert!(r.body.chars().count() <= 160, "{}", r.body);
    assert!(is_gsm7(&r.body), "{}", r.body);
    for needle in ["Contoso Ltd", "493817", "10 min", "call you placed"] {
        assert!(r.body.contains(needle), "{needle}: {}", r.body);
    }
}

#[test]
fn a_long_org_name_is_shortened_not_the_code() {
    let name = "The Extraordinarily Long-Named International Holding Company of Everything";
    let long = format!("{name} {name}");
    let r = pin_sms(&vars(None, &long, "4938170012"));
    assert!(r.body.chars().count() <= 160);
    assert!(r.body.contains("4938170012"));
}

#[test]
fn unicode_org_names_are_kept_and_flagged_as_not_gsm7() {
    let r = pin_sms(&vars(None, "北京科技有限公司", "493817"));
    assert!(r.body.contains("北京科技有限公司"));
    assert!(r.body.contains("493817"));
    assert!(!is_gsm7(&r.body));
    assert!(is_gsm7("Café Müller"));
    assert!(!is_gsm7("Zoë"));
}

#[test]
fn email_names_org_code_and_expiry() {
    let r = pin_email(&vars(None, "Contoso Ltd", "493817"));
    assert!(r.subject.contains("Contoso Ltd"));
    assert!(r.body.contains("493817") && r.body.contains("10 minutes"));
    assert!(r.body.contains("Contoso support desk"));
}

#[test]
fn a_placeholder_inside_a_substituted_value_stays_literal() {
    // An org name that looks like a placeholder must not pull the PIN
    // into the (unsealed) subject, nor a later variable into the body.
    let e = pin_email(&vars(None, "Acme {pin}", "493817"));
    assert_eq!(e.subject, "Acme {pin}: support verification code");
    assert!(!e.subject.contains("493817"));
    let v = PinVars {
        support_name: "{minutes} desk",
        ..vars(None, "Acme", "493817")
    };
    assert!(pin_email(&v).body.contains("{minutes} desk"));
    assert!(
        !pin_sms(&vars(None, "{pin}", "493817"))
            .body
            .starts_with("493817")
    );
}

#[test]
fn fill_leaves_unknown_and_unclosed_braces_alone() {
    let v = vars(None, "Acme", "1");
    assert_eq!(fill("{nope} {org} {", &v), "{nope} Acme {");
}

#[test]
fn grant_notices_carry_no_code_and_say_how_to_report() {
    let n = GrantNotice {
        org_name: "Contoso",
        agent: "alice",
        at: "2026-11-25T05:43:07.123Z",
        call_id: "call_0123",
        minutes: 30,
        basis: "pin",
    };
    let e = grant_notice_email(&n);
    assert!(e.body.contains("alice") && e.body.contains("call_0123") && e.body.contains("report"));
    let s = grant_notice_sms(&n);
    assert!(s.body.chars().count() <= 160, "{}", s.body);
    assert!(s.body.contains("call_0123"));
}
