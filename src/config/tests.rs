use std::path::Path;
use std::time::Duration;

use super::*;

fn from_toml(s: &str) -> Result<Settings, ConfigError> {
    Settings::from_toml_str(s, Path::new("test.toml"))
}

#[test]
fn defaults_are_valid_and_match_the_design() {
    let s = from_toml("").unwrap();
    assert_eq!(s.server.listen, "127.0.0.1:8080");
    assert_eq!(s.database.url.expose(), "sqlite://data/pingate.db");
    assert_eq!(s.pin.length, 6);
    assert_eq!(s.pin.ttl.0, Duration::from_secs(600));
    assert_eq!(s.pin.max_attempts, 5);
    assert_eq!(s.pin.max_sends, 3);
    assert_eq!(s.grant.ttl.0, Duration::from_secs(1800));
    assert_eq!(s.security.caller_id_trust, CallerIdTrust::AttestedA);
    assert_eq!(s.email.transport, EmailTransport::File);
    assert_eq!(s.sms.transport, SmsTransport::File);
}

#[test]
fn the_shipped_config_file_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH);
    Settings::load_with_env(&path, true, []).unwrap();
}

#[test]
fn durations_parse_in_human_units() {
    assert_eq!(
        HumanDuration::parse("500ms").unwrap().0,
        Duration::from_millis(500)
    );
    assert_eq!(
        HumanDuration::parse("30s").unwrap().0,
        Duration::from_secs(30)
    );
    assert_eq!(
        HumanDuration::parse("10m").unwrap().0,
        Duration::from_secs(600)
    );
    assert_eq!(
        HumanDuration::parse("2h").unwrap().0,
        Duration::from_secs(7200)
    );
    assert_eq!(
        HumanDuration::parse("45").unwrap().0,
        Duration::from_secs(45)
    );
    assert!(HumanDuration::parse("10 minutes").is_err());
    assert!(HumanDuration::parse("m").is_err());
    assert!(HumanDuration::parse("").is_err());
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = from_toml(
        r#"
        [server]
        listen = "nowhere"
        [pin]
        length = 4
        ttl = "2h"
        [email]
        transport = "smtp"
        "#,
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "server.listen",
        "pin.length",
        "pin.ttl",
        "email.smtp_url",
        "email.from",
    ] {
        assert!(err.contains(needle), "{needle} missing from: {err}");
    }
}

#[test]
fn unknown_keys_and_bad_enums_are_refused_in_words() {
    let err = from_toml("[pin]\nlenght = 6\n").unwrap_err().to_string();
    assert!(err.contains("lenght"), "{err}");
    let err = from_toml("[security]\ncaller_id_trust = \"maybe\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("maybe"), "{err}");
}

#[test]
fn unknown_keys_are_reported_with_every_other_problem() {
    let err = from_toml(
        "colour = \"blue\"\n[server]\nlisten = \"nowhere\"\n[pin]\nlength = 4\ncolour = 1\n",
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "colour: unknown key",
        "pin.colour: unknown key",
        "server.listen",
        "pin.length",
    ] {
        assert!(err.contains(needle), "{needle} missing from: {err}");
    }
    assert!(!err.contains("default."), "{err}");
}

#[test]
fn open_maps_take_any_key() {
    let s = from_toml("[twilio.webhook_keys]\nkey-2026 = \"secret-value\"\n").unwrap();
    assert_eq!(s.twilio.webhook_keys["key-2026"].expose(), "secret-value");
}

#[test]
fn numeric_secrets_from_the_environment_are_accepted() {
    let env = [(
        "PINGATE__TWILIO__AUTH_TOKEN".to_string(),
        "12345".to_string(),
    )];
    let s = Settings::load_with_env(Path::new("absent.toml"), false, env)
        .unwrap()
        .settings;
    assert_eq!(s.twilio.auth_token.unwrap().expose(), "12345");
}

#[test]
fn secrets_do_not_show_in_debug() {
    let s = from_toml("[twilio]\nauth_token = \"tok-very-secret-value\"\n").unwrap();
    assert!(!format!("{s:?}").contains("very-secret"));
}

fn with_env(file: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pingate.toml");
    std::fs::write(&path, file).unwrap();
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Settings::load_with_env(&path, true, env).map(|l| l.settings)
}

#[test]
fn environment_text_stays_text_for_string_keys() {
    let s = with_env(
        "",
        &[
            ("PINGATE__TWILIO__SMS_FROM", "+15005550006"),
            ("PINGATE__EMAIL__FROM", "true"),
            ("PINGATE__VOICE__QUEUE", "0042"),
            ("PINGATE__DELIVERY__SUPPORT_NAME", "1e3"),
        ],
    )
    .unwrap();
    assert_eq!(s.twilio.sms_from.as_deref(), Some("+15005550006"));
    assert_eq!(s.email.from.as_deref(), Some("true"));
    assert_eq!(s.voice.queue, "0042");
    assert_eq!(s.delivery.support_name, "1e3");
}

#[test]
fn environment_text_parses_for_numbers_durations_flags_and_lists() {
    let s = with_env(
        "",
        &[
            ("PINGATE__PIN__LENGTH", "8"),
            ("PINGATE__PIN__TTL", "90s"),
            ("PINGATE__GRANT__TTL", "120"),
            ("PINGATE__DELIVERY__AUTO_FALLBACK", "true"),
            ("PINGATE__LIMITS__SMS_COUNTRIES", "US,GB"),
            ("PINGATE__SECURITY__CALLER_ID_TRUST", "any"),
        ],
    )
    .unwrap();
    assert_eq!(s.pin.length, 8);
    assert_eq!(s.pin.ttl.0, Duration::from_secs(90));
    assert_eq!(s.grant.ttl.0, Duration::from_secs(120));
    assert!(s.delivery.auto_fallback);
    assert_eq!(s.limits.sms_countries, ["US", "GB"]);
    assert_eq!(s.security.caller_id_trust, CallerIdTrust::Any);
    let s = with_env(
        "",
        &[("PINGATE__LIMITS__SMS_COUNTRIES", "[\"US\", \"CA\"]")],
    )
    .unwrap();
    assert_eq!(s.limits.sms_countries, ["US", "CA"]);
}

#[test]
fn the_environment_overrides_the_file_key_by_key() {
    let s = with_env(
        "[pin]\nlength = 7\nmax_sends = 2\n",
        &[("PINGATE__PIN__LENGTH", "9")],
    )
    .unwrap();
    assert_eq!((s.pin.length, s.pin.max_sends), (9, 2));
}

#[test]
fn every_type_problem_is_reported_with_its_line() {
    let err = with_env(
        "[pin]\nlength = \"six\"\nttl = \"2 hours\"\n\n[email]\ntransport = \"smpt\"\nfrom = 5\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "pin.length: must be a whole number from 6 to 10, got \"six\" (",
        "pingate.toml, line 2)",
        "pin.ttl: must be a duration like 500ms, 30s, 10m or 2h, got \"2 hours\"",
        "line 3)",
        "email.transport: must be \"smtp\" or \"file\", got \"smpt\"",
        "line 6)",
        "email.from: must be text (in quotes), got 5",
        "line 7)",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
}

#[test]
fn problems_name_the_variable_they_came_from_and_suggest_keys() {
    let err = with_env(
        "",
        &[
            ("PINGATE__PIN__LENGHT", "6"),
            ("PINGATE__PIN__MAX_ATTEMPTS", "lots"),
            ("PINGATE__PIN__LENGTH", "4"),
        ],
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "PINGATE__PIN__LENGHT: unknown key pin.lenght; did you mean pin.length?",
        "PINGATE__PIN__MAX_ATTEMPTS: pin.max_attempts: must be a whole number from 1 to 10, got \"lots\"",
        "PINGATE__PIN__LENGTH: pin.length: must be a whole number from 6 to 10, got 4",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
}

#[test]
fn no_problem_speaks_rust_or_serde() {
    let err = with_env(
        "server = 3\n[pin]\nlength = -1\nmax_sends = 1.5\n[limits]\nsms_countries = \"US\"\n[email]\ntimeout = true\n[twilio]\nwebhook_keys = 5\n",
        &[("PINGATE__SERVER", "x"), ("PINGATE__LOG__FORMAT", "xml")],
    )
    .unwrap_err()
    .to_string();
    for word in [
        "struct",
        "usize",
        "u32",
        "u64",
        "i64",
        "invalid type",
        "expected",
        "variant",
        "Value",
        ".rs:",
        "serde",
        "default.",
    ] {
        assert!(!err.contains(word), "{word:?} appears in: {err}");
    }
    for key in [
        "server:",
        "pin.length:",
        "pin.max_sends:",
        "limits.sms_countries:",
        "email.timeout:",
        "twilio.webhook_keys:",
        "log.format:",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
}

#[test]
fn a_configured_signing_key_must_be_a_base64_seed() {
    let err = with_env("[audit]\nsigning_key = \"short\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("audit.signing_key: is not"), "{err}");
    let seed = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    with_env(&format!("[audit]\nsigning_key = \"{seed}\"\n"), &[]).unwrap();
}

#[test]
fn postgres_needs_the_shared_secrets_named() {
    let pg = "[database]\nurl = \"postgres://u@db:5432/pingate\"\n";
    let s = with_env(pg, &[]).unwrap();
    let keys: Vec<String> = s
        .shared_secret_problems()
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(keys, ["security.pepper", "audit.signing_key"]);
    let s = with_env(
        pg,
        &[
            ("PINGATE__SECURITY__PEPPER", &"p".repeat(32)),
            (
                "PINGATE__AUDIT__SIGNING_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ],
    )
    .unwrap();
    assert!(s.shared_secret_problems().is_empty());
    assert!(Settings::default().shared_secret_problems().is_empty());
}

#[test]
fn the_support_desk_profile_is_valid_and_routes_the_seed_desk() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/support-desk.toml");
    let s = Settings::load_with_env(&path, true, []).unwrap().settings;
    let support = s.support.expect("[support]");
    let desk = support.desk().unwrap();
    assert_eq!(desk.time_zone_name, "Asia/Shanghai");
    assert_eq!(desk.lines.len(), 3);
    assert!(s.limits.sms_countries.iter().any(|c| c == "CN"));
}

#[test]
fn without_support_there_is_no_desk() {
    assert!(from_toml("").unwrap().support.is_none());
}

#[test]
fn every_support_mistake_is_explained() {
    let err = from_toml(
        r#"
        [support]
        time_zone = "Asia/Beijing"
        holidays = ["2027-13-01"]
        languages = ["en", "klingon"]
        [[support.line]]
        id = "technical"
        digit = "1"
        prompt = "For technical support, press 1."
        severities = ["A", "B", "C", "D"]
        queue = "technical"
        [support.line.hours]
        A = "24x7"
        B = "daily 09:00-13:00, 12:00-24:00"
        [[support.line]]
        id = "billing"
        digit = "1"
        prompt = { en = "Billing: 2." }
        hours = "mon-fri 18:00-09:00"
        queue = ""
        [[support.line]]
        id = "presales"
        digit = "12"
        prompt = { en = "Presales: 3." }
        hours = { A = "24x7" }
        queue = "presales"
        "#,
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "support.time_zone: \"Asia/Beijing\" is not an IANA time zone",
        "support.holidays: \"2027-13-01\" is not a date",
        "support.languages: \"klingon\" is not a language",
        "support.line[technical].severities: \"D\" is not a severity",
        "support.line[technical].hours.B: \"daily 09:00-13:00, 12:00-24:00\" 09:00-13:00 and 12:00-24:00 overlap on mon",
        "support.line[technical].hours.C: severity C has no hours",
        "support.line[billing].hours: \"mon-fri 18:00-09:00\" 18:00-09:00 is empty or runs backwards",
        "support.line[billing].queue: must be a queue name",
        "support.line[presales].digit: \"12\" must be one keypad digit",
        "support.line[presales].hours: hours by severity need severities",
    ] {
        assert!(err.contains(needle), "{needle}\n missing from:\n{err}");
    }
}

#[test]
fn duplicate_digits_and_missing_translations_are_explained() {
    let err = from_toml(
        r#"
        [support]
        time_zone = "Etc/GMT-8"
        languages = ["en", "zh-CN"]
        [[support.line]]
        id = "a"
        digit = "1"
        prompt = "Press 1."
        hours = "24x7"
        queue = "a"
        [[support.line]]
        id = "b"
        digit = "1"
        prompt = { en = "Press 1 too." }
        hours = "24x7"
        queue = "b"
        "#,
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "lines a and b both use digit 1",
        "support.line[a].prompt: support.languages offers 2 languages",
        "support.line[b].prompt: no text in zh-CN",
    ] {
        assert!(err.contains(needle), "{needle}\n missing from:\n{err}");
    }
}

#[test]
fn an_unsigned_twilio_is_a_provider_warning_and_a_signed_one_is_not() {
    let mut s = Settings::default();
    let w = s.provider_warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("twilio.auth_token is not set"), "{w:?}");
    assert!(w[0].contains("503"), "{w:?}");
    s.twilio.auth_token = Some("t".into());
    s.sms.transport = SmsTransport::Twilio;
    assert_eq!(s.provider_warnings(), Vec::<String>::new());
    assert_eq!(
        s.providers_summary(),
        "twilio (no account_sid, webhook signing on)"
    );
    assert!(s.sms_transport_summary().starts_with("twilio https://"));
}
