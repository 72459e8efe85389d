//! Message texts. A PIN message names the organisation and the expiry and
//! tells the reader to give the code only to support on a call they placed;
//! SMS texts stay within one GSM-7 segment (160 characters) when they can.

pub struct Rendered {
    pub subject: String,
    pub body: String,
}

const SMS_SEGMENT: usize = 160;

pub fn pin_email(org_name: &str, pin: &str, minutes: u64) -> Rendered {
    Rendered {
        subject: format!("{org_name}: support verification code"),
        body: format!(
            "Someone on a call with {org_name} support asked for a verification code.\n\n\
             Code: {pin}\n\n\
             It expires in {minutes} minutes. Read it to the support agent only if you \
             placed the call yourself. Support will never ask you for this code by email \
             or in a call you did not make.\n\n\
             If you did not call support, do not share the code; tell your administrator.\n"
        ),
    }
}

pub fn pin_sms(org_name: &str, pin: &str, minutes: u64) -> Rendered {
    let tail = format!(
        " support code: {pin}. Expires in {minutes} min. Give it only to support on a call you placed."
    );
    Rendered {
        subject: String::new(),
        body: format!("{}{tail}", fit(org_name, SMS_SEGMENT.saturating_sub(tail.chars().count()))),
    }
}

pub struct GrantNotice<'a> {
    pub org_name: &'a str,
    pub agent: &'a str,
    pub at: &'a str,
    pub call_id: &'a str,
    pub minutes: u64,
    pub basis: &'a str,
}

pub fn grant_notice_email(n: &GrantNotice<'_>) -> Rendered {
    let how = match n.basis {
        "trusted_number" => "the call came from a number registered in your profile",
        _ => "the caller read back a verification code sent to your registered contact",
    };
    Rendered {
        subject: format!("{}: support accessed your account", n.org_name),
        body: format!(
            "Support agent {agent} was granted access to the {org} account at {at} for \
             {minutes} minutes, because {how}.\n\nCall reference: {call}\n\n\
             If nobody at {org} called support, report it to your support contact at once \
             and quote the call reference; the access can be revoked.\n",
            agent = n.agent,
            org = n.org_name,
            at = n.at,
            minutes = n.minutes,
            call = n.call_id,
        ),
    }
}

pub fn grant_notice_sms(n: &GrantNotice<'_>) -> Rendered {
    let tail = format!(
        ": support ({}) accessed your account for {} min. Not you? Report call {}.",
        n.agent, n.minutes, n.call_id
    );
    Rendered {
        subject: String::new(),
        body: format!("{}{tail}", fit(n.org_name, SMS_SEGMENT.saturating_sub(tail.chars().count()).max(8))),
    }
}

pub fn lockout_notice_email(org_name: &str, call_id: &str, until: &str) -> Rendered {
    Rendered {
        subject: format!("{org_name}: support verification locked after wrong codes"),
        body: format!(
            "Someone on a call with support entered too many wrong verification codes for \
             {org_name}. PIN verification for that caller is locked until {until}; nobody \
             was given access.\n\nCall reference: {call_id}\n\n\
             If this was you, wait or ask your administrator to contact support. If not, \
             someone may be trying to get into your account: tell your administrator.\n"
        ),
    }
}

pub fn lockout_notice_sms(org_name: &str, call_id: &str) -> Rendered {
    let tail = format!(": too many wrong support codes; verification locked, no access given. Call {call_id}.");
    Rendered {
        subject: String::new(),
        body: format!("{}{tail}", fit(org_name, SMS_SEGMENT.saturating_sub(tail.chars().count()).max(8))),
    }
}

/// Shortens a name to `max` characters, marking the cut with a GSM-7 dot.
fn fit(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(max.saturating_sub(1)).collect();
        s.push('.');
        s
    }
}

/// Whether a text is all GSM 03.38 basic-alphabet characters (one SMS
/// segment holds 160 of those, but only 70 UCS-2 characters).
pub fn is_gsm7(text: &str) -> bool {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    text.chars().all(|c| BASIC.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_sms_fits_one_gsm7_segment_and_says_what_matters() {
        let r = pin_sms("Contoso Ltd", "493817", 10);
        assert!(r.body.chars().count() <= 160, "{}", r.body);
        assert!(is_gsm7(&r.body), "{}", r.body);
        for needle in ["Contoso Ltd", "493817", "10 min", "call you placed"] {
            assert!(r.body.contains(needle), "{needle}: {}", r.body);
        }
    }

    #[test]
    fn a_long_org_name_is_shortened_not_the_code() {
        let name = "The Extraordinarily Long-Named International Holding Company of Everything";
        let r = pin_sms(&format!("{name} {name}"), "4938170012", 10);
        assert!(r.body.chars().count() <= 160);
        assert!(r.body.contains("4938170012"));
    }

    #[test]
    fn unicode_org_names_are_kept_and_flagged_as_not_gsm7() {
        let r = pin_sms("北京科技有限公司", "493817", 10);
        assert!(r.body.contains("北京科技有限公司"));
        assert!(!is_gsm7(&r.body));
        assert!(is_gsm7("Café Müller"));
        assert!(!is_gsm7("Zoë"));
    }

    #[test]
    fn email_names_org_code_and_expiry() {
        let r = pin_email("Contoso Ltd", "493817", 10);
        assert!(r.subject.contains("Contoso Ltd"));
        assert!(r.body.contains("493817") && r.body.contains("10 minutes"));
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
}
