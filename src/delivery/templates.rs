//! Message texts. A PIN message names the organisation and the expiry and
//! tells the reader to give the code only to support on a call they placed;
//! SMS texts stay within one GSM-7 segment (160 characters) when they can.

#[derive(Clone)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

const SMS_SEGMENT: usize = 160;

/// What a PIN message says, in one language.
struct PinText {
    subject: &'static str,
    /// {org} {pin} {minutes} {support}
    email: &'static str,
    /// {pin} {minutes}; the org name is put in front, shortened to fit.
    sms_tail: &'static str,
}

/// The languages PIN messages exist in; an org's `language` picks one by
/// its primary subtag ("pt-BR" → "pt" → English when absent).
fn pin_text(language: Option<&str>) -> PinText {
    let primary = language
        .and_then(|l| l.split(['-', '_']).next())
        .map(str::to_ascii_lowercase);
    match primary.as_deref() {
        Some("de") => GERMAN,
        Some("fr") => FRENCH,
        Some("zh") => CHINESE,
        Some("es") => SPANISH,
        _ => ENGLISH,
    }
}

const GERMAN: PinText = PinText {
    subject: "{org}: Bestätigungscode für den Support",
    email: "Bei einem Anruf beim Support von {org} wurde ein Bestätigungscode angefordert.\n\n\
            Code: {pin}\n\n\
            Er ist {minutes} Minuten gültig. Nennen Sie ihn dem Support nur, wenn Sie selbst \
            angerufen haben. Der Support fragt nie per E-Mail oder in einem Anruf, den Sie \
            nicht begonnen haben, nach diesem Code.\n\n\
            Wenn Sie nicht angerufen haben, geben Sie den Code nicht weiter und informieren \
            Sie Ihre Administration.\n\n{support}\n",
    sms_tail: " Support-Code: {pin}. Gültig {minutes} Min. Nur dem Support nennen, wenn Sie selbst angerufen haben.",
};

const FRENCH: PinText = PinText {
    subject: "{org} : code de vérification du support",
    email: "Un code de vérification a été demandé lors d'un appel au support de {org}.\n\n\
            Code : {pin}\n\n\
            Il expire dans {minutes} minutes. Ne le donnez au support que si vous avez \
            vous-même passé l'appel. Le support ne vous demandera jamais ce code par e-mail \
            ni lors d'un appel que vous n'avez pas passé.\n\n\
            Si vous n'avez pas appelé, ne communiquez pas le code et prévenez votre \
            administrateur.\n\n{support}\n",
    sms_tail: " code support : {pin}. Expire dans {minutes} min. A donner au support seulement si vous avez appelé.",
};

const CHINESE: PinText = PinText {
    subject: "{org}：客服验证码",
    email: "您在致电{org}客服时申请了验证码。\n\n\
            验证码：{pin}\n\n\
            {minutes}分钟内有效。仅在您本人致电客服时将其告知客服人员。客服绝不会通过电子邮件\
            或在非您发起的通话中索要此验证码。\n\n\
            如果您没有致电客服，请勿透露验证码，并告知您的管理员。\n\n{support}\n",
    // UCS-2: the whole SMS, org name included, fits one 70-character segment.
    sms_tail: "：客服验证码{pin}，{minutes}分钟内有效。仅在您本人致电客服时告知。",
};

const SPANISH: PinText = PinText {
    subject: "{org}: código de verificación de soporte",
    email: "Se pidió un código de verificación en una llamada al soporte de {org}.\n\n\
            Código: {pin}\n\n\
            Caduca en {minutes} minutos. Déselo al agente solo si usted hizo la llamada. \
            El soporte nunca le pedirá este código por correo ni en una llamada que usted \
            no haya hecho.\n\n\
            Si no llamó, no comparta el código y avise a su administrador.\n\n{support}\n",
    // Without ó/í: GSM-7 keeps the text in one 160-character segment.
    sms_tail: " codigo de soporte: {pin}. Caduca en {minutes} min. Deselo solo al soporte si usted llamo.",
};

const ENGLISH: PinText = PinText {
    subject: "{org}: support verification code",
    email: "Someone on a call with {org} support asked for a verification code.\n\n\
            Code: {pin}\n\n\
            It expires in {minutes} minutes. Read it to the support agent only if you \
            placed the call yourself. Support will never ask you for this code by email \
            or in a call you did not make.\n\n\
            If you did not call support, do not share the code; tell your administrator.\n\n\
            {support}\n",
    sms_tail: " support code: {pin}. Expires in {minutes} min. Give it only to support on a call you placed.",
};

/// The variables of a PIN message.
pub struct PinVars<'a> {
    pub language: Option<&'a str>,
    pub org_name: &'a str,
    pub pin: &'a str,
    pub minutes: u64,
    pub support_name: &'a str,
}

/// Substitutes every placeholder in one pass over the template: a value
/// is never scanned again, so an org name like `Acme {pin}` stays literal.
/// Unknown or unclosed braces are kept as written.
fn fill(template: &str, v: &PinVars<'_>) -> String {
    let minutes = v.minutes.to_string();
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            rest = after;
            break;
        };
        let value = match &after[1..close] {
            "org" => Some(v.org_name),
            "pin" => Some(v.pin),
            "minutes" => Some(minutes.as_str()),
            "support" => Some(v.support_name),
            _ => None,
        };
        match value {
            Some(value) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn pin_email(v: &PinVars<'_>) -> Rendered {
    let t = pin_text(v.language);
    Rendered {
        subject: fill(t.subject, v),
        body: fill(t.email, v),
    }
}

pub fn pin_sms(v: &PinVars<'_>) -> Rendered {
    let t = pin_text(v.language);
    let tail = fill(t.sms_tail, v);
    // One GSM-7 segment holds 160 characters, a UCS-2 one 70.
    let segment = if is_gsm7(&tail) && is_gsm7(v.org_name) {
        SMS_SEGMENT
    } else {
        70
    };
    let room = segment.saturating_sub(tail.chars().count()).max(8);
    Rendered {
        subject: String::new(),
        body: format!("{}{tail}", fit(v.org_name, room)),
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
        body: format!(
            "{}{tail}",
            fit(
                n.org_name,
                SMS_SEGMENT.saturating_sub(tail.chars().count()).max(8)
            )
        ),
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
    let tail = format!(
        ": too many wrong support codes; verification locked, no access given. Call {call_id}."
    );
    Rendered {
        subject: String::new(),
        body: format!(
            "{}{tail}",
            fit(
                org_name,
                SMS_SEGMENT.saturating_sub(tail.chars().count()).max(8)
            )
        ),
    }
}

/// To the org's contacts and the administrators: the org reached its
/// ceiling of wrong PINs, so no new PINs are sent for it for now.
pub fn ceiling_notice_email(org_name: &str, call_id: &str, until: &str) -> Rendered {
    Rendered {
        subject: format!("{org_name}: support verification paused after many wrong codes"),
        body: format!(
            "Support calls for {org_name} entered the most wrong verification codes we \
             allow for one organisation. No new verification codes are sent for \
             {org_name} until {until}; nobody was given access. Calls from your \
             registered numbers are still served, and a support administrator can lift \
             the pause.\n\nLast call reference: {call_id}\n\n\
             Someone may be trying to get into your account: tell your administrator.\n"
        ),
    }
}

pub fn ceiling_notice_sms(org_name: &str, call_id: &str) -> Rendered {
    let tail =
        format!(": many wrong support codes; new codes paused, no access given. Call {call_id}.");
    Rendered {
        subject: String::new(),
        body: format!(
            "{}{tail}",
            fit(
                org_name,
                SMS_SEGMENT.saturating_sub(tail.chars().count()).max(8)
            )
        ),
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
mod tests;
