use jiff::Timestamp;
use jiff::civil::date;

use super::prompts::{Phrases, fill, phrases};
use super::*;
use crate::config::SupportSettings;
use crate::delivery::templates::{PinVars, is_gsm7, pin_sms};
use crate::domain::language::Language;
use crate::domain::support::{Desk, OrgTerms, Severity};

fn support() -> SupportSettings {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/support-desk.toml"
    ))
    .unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    value["support"].clone().try_into().unwrap()
}

struct Fixture {
    support: SupportSettings,
    desk: Desk,
}

impl Fixture {
    fn new() -> Fixture {
        let support = support();
        let desk = support.desk().unwrap();
        Fixture { support, desk }
    }

    fn menus(&self) -> Menus<'_> {
        Menus {
            desk: &self.desk,
            support: &self.support,
            default_language: Language::En,
            default_speech: "en-US",
            fallback_queue: "support",
        }
    }
}

fn caller(contract: bool, language: Option<Language>) -> Caller<'static> {
    Caller {
        call_id: "call_1",
        org_id: Some("contoso"),
        terms: OrgTerms {
            severity_a: contract,
        },
        org_language: language,
        verification: "pin_required",
    }
}

fn beijing(y: i16, m: i8, d: i8, h: i8) -> Timestamp {
    date(y, m, d)
        .at(h, 0, 0, 0)
        .in_tz("Asia/Shanghai")
        .unwrap()
        .timestamp()
}

fn keys(step: Step, digits: &str) -> Input<'_> {
    Input::Keys { step, digits }
}

fn texts(reply: &Reply) -> String {
    let mut out = String::new();
    for v in &reply.verbs {
        match v {
            Verb::Say(s) => out.push_str(&format!("[{}]{} ", s.language, s.text)),
            Verb::Gather(g) => {
                out.push_str(&format!("<gather {}>", g.step.as_str()));
                for s in &g.prompts {
                    out.push_str(&format!("[{}]{} ", s.language, s.text));
                }
            }
            Verb::Enqueue(e) => out.push_str(&format!(
                "<enqueue {} {}>",
                e.queue,
                e.task.as_ref().map_or(0, |t| t.priority)
            )),
            Verb::Hangup => out.push_str("<hangup>"),
            other => out.push_str(&format!("{other:?}")),
        }
    }
    out
}

fn walk(
    f: &Fixture,
    c: &Caller<'_>,
    steps: &[(Step, &str)],
    at: Timestamp,
) -> (Progress, Vec<MenuEvent>, Reply) {
    let m = f.menus();
    let mut progress = Progress::default();
    let mut events = Vec::new();
    let mut reply = m.advance(c, &progress, Input::Continue, at).reply;
    for (step, digits) in steps {
        let o = m.advance(c, &progress, keys(*step, digits), at);
        progress = o.progress;
        events.extend(o.events);
        reply = o.reply;
    }
    (progress, events, reply)
}

#[test]
fn a_caller_without_an_org_language_is_offered_languages_each_in_its_own_voice() {
    let f = Fixture::new();
    let (_, _, reply) = walk(&f, &caller(true, None), &[], beijing(2027, 3, 3, 3));
    let t = texts(&reply);
    assert!(
        t.contains("<gather language>[zh-CN]中文服务，请按1。 [en-US]For English, press 2."),
        "{t}"
    );
}

#[test]
fn severity_a_with_the_contract_at_three_is_enqueued_first_in_chinese() {
    let f = Fixture::new();
    let at = beijing(2027, 3, 3, 3);
    let (p, events, reply) = walk(
        &f,
        &caller(true, Some(Language::ZhCn)),
        &[(Step::Line, "1"), (Step::Severity, "1")],
        at,
    );
    assert_eq!(p.inside_hours, Some(true));
    assert_eq!(p.severity, Some(Severity::A));
    assert_eq!(
        texts(&reply),
        "[zh-CN]谢谢，正在为您转接客服。 <enqueue technical 30>"
    );
    assert!(matches!(
        events.last(),
        Some(MenuEvent::Routed {
            inside_hours: true,
            priority: 30,
            ..
        })
    ));
}

#[test]
fn severity_a_without_the_contract_is_told_and_offered_b() {
    let f = Fixture::new();
    let at = beijing(2027, 3, 3, 15);
    let c = caller(false, Some(Language::En));
    let (p, events, reply) = walk(&f, &c, &[(Step::Line, "1"), (Step::Severity, "1")], at);
    assert_eq!(p.severity, None);
    assert!(events.contains(&MenuEvent::SeverityRefused {
        offered: Some(Severity::B)
    }));
    assert_eq!(
        texts(&reply),
        "[en-US]Severity A needs the advanced support contract. <gather offer>[en-US]To continue with severity B, press 2. "
    );
    let (p, _, reply) = walk(
        &f,
        &c,
        &[(Step::Line, "1"), (Step::Severity, "1"), (Step::Offer, "2")],
        at,
    );
    assert_eq!(p.severity, Some(Severity::B));
    assert_eq!(
        texts(&reply),
        "[en-US]Thank you. Connecting you to support. <enqueue technical 20>"
    );
    // No key on the offer takes the severity offered.
    let (p, _, _) = walk(
        &f,
        &c,
        &[(Step::Line, "1"), (Step::Severity, "1"), (Step::Offer, "")],
        at,
    );
    assert_eq!(p.severity, Some(Severity::B));
}

#[test]
fn severity_b_at_three_hears_the_hours_and_goes_to_callbacks() {
    let f = Fixture::new();
    let (p, _, reply) = walk(
        &f,
        &caller(true, Some(Language::En)),
        &[(Step::Line, "1"), (Step::Severity, "2")],
        beijing(2027, 3, 3, 3),
    );
    assert_eq!(p.inside_hours, Some(false));
    assert_eq!(
        texts(&reply),
        "[en-US]We are closed now. This line is open every day from 09:00 to midnight, Beijing time. \
         [en-US]Please hold: we will take your details and call you back. <enqueue callbacks 20>"
    );
}

#[test]
fn billing_on_a_saturday_or_a_holiday_hears_business_day_hours_and_ends_politely() {
    let f = Fixture::new();
    for at in [beijing(2027, 3, 6, 11), beijing(2027, 2, 17, 11)] {
        let (p, _, reply) = walk(
            &f,
            &caller(false, Some(Language::ZhCn)),
            &[(Step::Line, "2"), (Step::Severity, "1")],
            at,
        );
        assert_eq!(p.inside_hours, Some(false));
        assert_eq!(
            texts(&reply),
            "[zh-CN]现在不是服务时间。本线路的服务时间为周一至周五09:00至18:00，北京时间。 [zh-CN]请在服务时间内再次致电。再见。 <hangup>"
        );
    }
}

#[test]
fn no_key_takes_the_lowest_severity_and_a_bad_key_asks_again_within_the_tries() {
    let f = Fixture::new();
    let at = beijing(2027, 3, 3, 15);
    let c = caller(true, Some(Language::En));
    let (p, _, _) = walk(&f, &c, &[(Step::Line, "1"), (Step::Severity, "")], at);
    assert_eq!(p.severity, Some(Severity::C));
    let (p, events, reply) = walk(&f, &c, &[(Step::Line, "1"), (Step::Severity, "7")], at);
    assert_eq!((p.severity, p.menu_attempts), (None, 1));
    assert!(events.contains(&MenuEvent::InvalidKey {
        step: Step::Severity,
        attempt: 1
    }));
    assert!(
        texts(&reply)
            .starts_with("[en-US]Sorry, that is not one of the choices. <gather severity>")
    );
    let three_bad = [
        (Step::Line, "1"),
        (Step::Severity, "7"),
        (Step::Severity, "8"),
        (Step::Severity, "9"),
    ];
    let (p, _, _) = walk(&f, &c, &three_bad, at);
    assert_eq!(p.severity, Some(Severity::C));
    // The line menu gives up to the general queue after its tries.
    let (p, events, reply) = walk(
        &f,
        &c,
        &[(Step::Line, "9"), (Step::Line, ""), (Step::Line, "*")],
        at,
    );
    assert_eq!(p.line, None);
    assert!(matches!(events.last(), Some(MenuEvent::GaveUp { .. })));
    assert!(
        texts(&reply).ends_with("<enqueue support 0>"),
        "{}",
        texts(&reply)
    );
    // A replay after giving up answers the same and records nothing more.
    let again = f.menus().advance(&c, &p, keys(Step::Line, "1"), at);
    assert!(again.events.is_empty(), "{:?}", again.events);
    assert_eq!(
        texts(&again.reply),
        "[en-US]An agent will help you. <enqueue support 0>"
    );
}

#[test]
fn presales_on_a_weekday_afternoon_is_enqueued_and_a_replayed_key_changes_nothing() {
    let f = Fixture::new();
    let at = beijing(2027, 3, 3, 15);
    let c = caller(false, Some(Language::En));
    let (p, events, reply) = walk(&f, &c, &[(Step::Line, "3")], at);
    assert_eq!(
        texts(&reply),
        "[en-US]Thank you. Connecting you to support. <enqueue presales 0>"
    );
    assert_eq!(events.len(), 2);
    let again = f.menus().advance(&c, &p, keys(Step::Line, "1"), at);
    assert_eq!(again.progress, p);
    assert!(again.events.is_empty());
    assert_eq!(again.reply, reply);
}

#[test]
fn every_prompt_exists_in_every_language_with_its_placeholders() {
    let fields = |p: &Phrases| -> Vec<(&'static str, String, &'static [&'static str])> {
        vec![
            ("greeting", p.greeting.into(), &[]),
            ("account_prompt", p.account_prompt.into(), &[]),
            ("account_retry", p.account_retry.into(), &[]),
            ("account_thanks", p.account_thanks.into(), &[]),
            ("account_give_up", p.account_give_up.into(), &[]),
            ("language_option", p.language_option.into(), &["{digit}"]),
            ("invalid_choice", p.invalid_choice.into(), &[]),
            (
                "severity_option",
                p.severity_option.into(),
                &["{severity}", "{meaning}", "{digit}"],
            ),
            ("severity_meaning", p.severity_meaning.join("|"), &[]),
            ("contract_needed", p.contract_needed.into(), &[]),
            ("offer", p.offer.into(), &["{severity}", "{digit}"]),
            ("connecting", p.connecting.into(), &[]),
            ("closed", p.closed.into(), &["{hours}", "{zone}"]),
            ("callbacks", p.callbacks.into(), &[]),
            ("goodbye", p.goodbye.into(), &[]),
            ("menu_gave_up", p.menu_gave_up.into(), &[]),
            ("always_open", p.always_open.into(), &[]),
            ("every_day", p.every_day.into(), &[]),
            ("days", p.days.join("|"), &[]),
            ("day_span", p.day_span.into(), &["{from}", "{to}"]),
            ("time_span", p.time_span.into(), &["{start}", "{end}"]),
            ("rule", p.rule.into(), &["{days}", "{ranges}"]),
            ("midnight", p.midnight.into(), &[]),
        ]
    };
    let english = fields(phrases(Language::En));
    for lang in Language::ALL {
        let p = phrases(lang);
        for ((name, text, needs), (_, en, _)) in fields(p).into_iter().zip(&english) {
            assert!(
                !text.trim().is_empty() && !text.contains("||"),
                "{lang}: {name} is empty"
            );
            for n in needs {
                assert!(text.contains(n), "{lang}: {name} lacks {n}: {text}");
            }
            if lang != Language::En && !["rule", "midnight"].contains(&name) {
                assert_ne!(&text, en, "{lang}: {name} is still English");
            }
        }
        assert!(p.and.chars().any(|c| !c.is_whitespace()) && !p.list_separator.is_empty());
        // The PIN message in this language fits one SMS segment in its encoding.
        // (An English text with a Chinese org name cannot fit 70 UCS-2
        // characters; templates keep the name, so that case is left out.)
        let orgs: &[&str] = match lang {
            Language::ZhCn => &["Contoso Ltd", "Acme 科技有限公司"],
            _ => &["Contoso Ltd", "Müller & Søn GmbH"],
        };
        for org in orgs {
            let sms = pin_sms(&PinVars {
                language: Some(lang.tag()),
                org_name: org,
                pin: "4938170012",
                minutes: 10,
                support_name: "Support",
            });
            let limit = if is_gsm7(&sms.body) { 160 } else { 70 };
            let n = sms.body.chars().count();
            assert!(n <= limit, "{lang}: {n} > {limit}: {}", sms.body);
            assert!(sms.body.contains("4938170012"), "{lang}: {}", sms.body);
        }
    }
}

#[test]
fn fill_substitutes_in_one_pass() {
    assert_eq!(
        fill("{a} and {b}", &[("a", "{b}"), ("b", "x")]),
        "{b} and x"
    );
    assert_eq!(fill("{unknown} {a}", &[("a", "1")]), "{unknown} 1");
}

#[test]
fn hours_read_naturally_with_several_ranges_in_each_language() {
    let h = crate::domain::support::Hours::parse(
        "mon-fri 09:00-12:00, 13:00-18:00; sat 10:00-14:00; sun 10:00-24:00",
    )
    .unwrap();
    assert_eq!(
        hours_in_words(&h, phrases(Language::En)),
        "Monday to Friday from 09:00 to 12:00 and from 13:00 to 18:00, Saturday from 10:00 to 14:00, Sunday from 10:00 to midnight"
    );
    assert_eq!(
        hours_in_words(&h, phrases(Language::ZhCn)),
        "周一至周五09:00至12:00和13:00至18:00、周六10:00至14:00、周日10:00至24:00"
    );
    let weekend = crate::domain::support::Hours::parse("sat-sun 10:00-14:00").unwrap();
    assert_eq!(
        hours_in_words(&weekend, phrases(Language::De)),
        "Samstag und Sonntag von 10:00 bis 14:00"
    );
    let always = crate::domain::support::Hours::parse("24x7").unwrap();
    assert_eq!(
        hours_in_words(&always, phrases(Language::Fr)),
        "24 heures sur 24, 7 jours sur 7"
    );
}

fn any_input() -> impl proptest::strategy::Strategy<Value = (Step, String)> {
    (
        proptest::sample::select(Step::ALL.to_vec()),
        proptest::string::string_regex("[0-9*#]{0,3}").unwrap(),
    )
}

proptest::proptest! {
    #[test]
    fn any_keys_in_any_order_get_an_answer_and_a_route_never_changes(
        inputs in proptest::collection::vec(any_input(), 0..25),
        contract in proptest::bool::ANY,
        hour in 0i8..24,
        language in proptest::option::of(proptest::sample::select(Language::ALL.to_vec())),
    ) {
        let f = Fixture::new();
        let m = f.menus();
        let c = caller(contract, language);
        let at = beijing(2027, 3, 3, hour);
        let mut progress = Progress::default();
        for (step, digits) in &inputs {
            let o = m.advance(&c, &progress, keys(*step, digits), at);
            let last = o.reply.verbs.last();
            proptest::prop_assert!(
                matches!(last, Some(Verb::Gather(_) | Verb::Enqueue(_) | Verb::Hangup)),
                "{:?}", o.reply
            );
            proptest::prop_assert!(o.progress.menu_attempts <= f.support.menu_attempts);
            if progress.inside_hours.is_some() {
                proptest::prop_assert_eq!(&o.progress, &progress);
                proptest::prop_assert!(o.events.is_empty());
            }
            if o.progress.severity == Some(Severity::A) {
                proptest::prop_assert!(contract, "Severity A only with the contract");
            }
            progress = o.progress;
        }
    }
}
