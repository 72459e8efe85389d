//! What the IVR says, in every language it speaks. Placeholders in braces
//! (`{digit}`, `{severity}`, `{hours}`…) are filled by `fill`; a test checks
//! each text exists in every language with the placeholders it needs.

use crate::domain::language::Language;

pub struct Phrases {
    pub greeting: &'static str,
    pub account_prompt: &'static str,
    pub account_retry: &'static str,
    pub account_thanks: &'static str,
    pub account_give_up: &'static str,
    /// Said in its own language in the language menu. {digit}
    pub language_option: &'static str,
    pub invalid_choice: &'static str,
    /// {severity} {meaning} {digit}
    pub severity_option: &'static str,
    /// What A, B and C mean.
    pub severity_meaning: [&'static str; 3],
    pub contract_needed: &'static str,
    /// {severity} {digit}
    pub offer: &'static str,
    pub connecting: &'static str,
    /// {hours} {zone}
    pub closed: &'static str,
    pub callbacks: &'static str,
    pub goodbye: &'static str,
    pub menu_gave_up: &'static str,
    pub always_open: &'static str,
    pub every_day: &'static str,
    /// Monday first.
    pub days: [&'static str; 7],
    /// {from} {to}
    pub day_span: &'static str,
    /// {start} {end}
    pub time_span: &'static str,
    /// {days} {ranges}
    pub rule: &'static str,
    pub and: &'static str,
    pub list_separator: &'static str,
    /// 24:00 in words.
    pub midnight: &'static str,
}

pub fn phrases(language: Language) -> &'static Phrases {
    match language {
        Language::En => &EN,
        Language::Es => &ES,
        Language::De => &DE,
        Language::Fr => &FR,
        Language::ZhCn => &ZH_CN,
    }
}

/// Replaces each `{name}` with its value, in one pass over the template
/// (a value that contains braces is never read as a placeholder).
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((name, close)) if vars.iter().any(|(k, _)| *k == name) => {
                let value = vars.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
                out.push_str(value.unwrap_or_default());
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

const EN: Phrases = Phrases {
    greeting: "Thank you for calling support.",
    account_prompt: "Please enter your organisation's account number, then press the pound key.",
    account_retry: "That account number was not recognised. Please enter it again, then press the pound key.",
    account_thanks: "Thank you.",
    account_give_up: "An agent will help you identify your organisation.",
    language_option: "For English, press {digit}.",
    invalid_choice: "Sorry, that is not one of the choices.",
    severity_option: "For severity {severity}, {meaning}, press {digit}.",
    severity_meaning: ["critical", "high", "non-critical"],
    contract_needed: "Severity A needs the advanced support contract.",
    offer: "To continue with severity {severity}, press {digit}.",
    connecting: "Thank you. Connecting you to support.",
    closed: "We are closed now. This line is open {hours}, {zone}.",
    callbacks: "Please hold: we will take your details and call you back.",
    goodbye: "Please call again during those hours. Goodbye.",
    menu_gave_up: "An agent will help you.",
    always_open: "24 hours a day, 7 days a week",
    every_day: "every day",
    days: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    day_span: "{from} to {to}",
    time_span: "from {start} to {end}",
    rule: "{days} {ranges}",
    and: " and ",
    list_separator: ", ",
    midnight: "midnight",
};

const ES: Phrases = Phrases {
    greeting: "Gracias por llamar al soporte.",
    account_prompt: "Introduzca el número de cuenta de su organización y pulse la tecla almohadilla.",
    account_retry: "No reconocemos ese número de cuenta. Introdúzcalo de nuevo y pulse la tecla almohadilla.",
    account_thanks: "Gracias.",
    account_give_up: "Un agente le ayudará a identificar su organización.",
    language_option: "Para español, pulse {digit}.",
    invalid_choice: "Lo sentimos, esa opción no es válida.",
    severity_option: "Para severidad {severity}, {meaning}, pulse {digit}.",
    severity_meaning: ["crítica", "alta", "no crítica"],
    contract_needed: "La severidad A requiere el contrato de soporte avanzado.",
    offer: "Para continuar con severidad {severity}, pulse {digit}.",
    connecting: "Gracias. Le pasamos con soporte.",
    closed: "Ahora estamos cerrados. Esta línea atiende {hours}, {zone}.",
    callbacks: "Espere, por favor: tomaremos sus datos y le llamaremos.",
    goodbye: "Llámenos en ese horario. Adiós.",
    menu_gave_up: "Un agente le atenderá.",
    always_open: "las 24 horas, los 7 días de la semana",
    every_day: "todos los días",
    days: [
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
    ],
    day_span: "de {from} a {to}",
    time_span: "de {start} a {end}",
    rule: "{days} {ranges}",
    and: " y ",
    list_separator: ", ",
    midnight: "medianoche",
};

const DE: Phrases = Phrases {
    greeting: "Vielen Dank für Ihren Anruf beim Support.",
    account_prompt: "Bitte geben Sie die Kundennummer Ihrer Organisation ein und drücken Sie die Rautetaste.",
    account_retry: "Diese Kundennummer wurde nicht erkannt. Bitte geben Sie sie erneut ein und drücken Sie die Rautetaste.",
    account_thanks: "Danke.",
    account_give_up: "Ein Mitarbeiter hilft Ihnen, Ihre Organisation zu finden.",
    language_option: "Für Deutsch drücken Sie die {digit}.",
    invalid_choice: "Diese Auswahl gibt es leider nicht.",
    severity_option: "Für Schweregrad {severity}, {meaning}, drücken Sie die {digit}.",
    severity_meaning: ["kritisch", "hoch", "nicht kritisch"],
    contract_needed: "Schweregrad A erfordert den erweiterten Supportvertrag.",
    offer: "Um mit Schweregrad {severity} fortzufahren, drücken Sie die {digit}.",
    connecting: "Danke. Wir verbinden Sie mit dem Support.",
    closed: "Wir sind gerade nicht erreichbar. Diese Leitung ist {hours} besetzt, {zone}.",
    callbacks: "Bitte bleiben Sie dran: Wir nehmen Ihre Daten auf und rufen Sie zurück.",
    goodbye: "Bitte rufen Sie zu diesen Zeiten wieder an. Auf Wiederhören.",
    menu_gave_up: "Ein Mitarbeiter hilft Ihnen weiter.",
    always_open: "rund um die Uhr, sieben Tage die Woche",
    every_day: "täglich",
    days: [
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
    ],
    day_span: "{from} bis {to}",
    time_span: "von {start} bis {end}",
    rule: "{days} {ranges}",
    and: " und ",
    list_separator: ", ",
    midnight: "Mitternacht",
};

const FR: Phrases = Phrases {
    greeting: "Merci d'avoir appelé le support.",
    account_prompt: "Saisissez le numéro de compte de votre organisation, puis appuyez sur la touche dièse.",
    account_retry: "Ce numéro de compte n'a pas été reconnu. Saisissez-le à nouveau, puis appuyez sur la touche dièse.",
    account_thanks: "Merci.",
    account_give_up: "Un agent vous aidera à identifier votre organisation.",
    language_option: "Pour le français, appuyez sur {digit}.",
    invalid_choice: "Désolé, ce choix n'existe pas.",
    severity_option: "Pour la sévérité {severity}, {meaning}, appuyez sur {digit}.",
    severity_meaning: ["critique", "élevée", "non critique"],
    contract_needed: "La sévérité A nécessite le contrat de support avancé.",
    offer: "Pour continuer en sévérité {severity}, appuyez sur {digit}.",
    connecting: "Merci. Nous vous mettons en relation avec le support.",
    closed: "Nous sommes fermés. Cette ligne est ouverte {hours}, {zone}.",
    callbacks: "Restez en ligne : nous prendrons vos coordonnées pour vous rappeler.",
    goodbye: "Merci de rappeler pendant ces horaires. Au revoir.",
    menu_gave_up: "Un agent va vous aider.",
    always_open: "24 heures sur 24, 7 jours sur 7",
    every_day: "tous les jours",
    days: [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ],
    day_span: "du {from} au {to}",
    time_span: "de {start} à {end}",
    rule: "{days} {ranges}",
    and: " et ",
    list_separator: ", ",
    midnight: "minuit",
};

const ZH_CN: Phrases = Phrases {
    greeting: "感谢您致电客户支持。",
    account_prompt: "请输入贵单位的账号，然后按井号键。",
    account_retry: "无法识别该账号。请重新输入，然后按井号键。",
    account_thanks: "谢谢。",
    account_give_up: "客服人员将协助您确认贵单位。",
    language_option: "中文服务，请按{digit}。",
    invalid_choice: "抱歉，您的选择无效。",
    severity_option: "严重级别{severity}，{meaning}，请按{digit}。",
    severity_meaning: ["紧急", "高", "非紧急"],
    contract_needed: "严重级别A仅适用于签订高级支持合同的客户。",
    offer: "如需以严重级别{severity}继续，请按{digit}。",
    connecting: "谢谢，正在为您转接客服。",
    closed: "现在不是服务时间。本线路的服务时间为{hours}，{zone}。",
    callbacks: "请稍候，我们将记录您的信息并回电。",
    goodbye: "请在服务时间内再次致电。再见。",
    menu_gave_up: "客服人员将为您提供帮助。",
    always_open: "每周七天，每天24小时",
    every_day: "每天",
    days: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
    day_span: "{from}至{to}",
    time_span: "{start}至{end}",
    rule: "{days}{ranges}",
    and: "和",
    list_separator: "、",
    midnight: "24:00",
};
