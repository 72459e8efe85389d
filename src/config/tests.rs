use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};

use super::*;

fn from_toml(s: &str) -> Result<Settings, ConfigError> {
    Settings::from_figment(Figment::new().merge(Toml::string(s)))
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
    Settings::from_figment(Figment::new().merge(Toml::file(path))).unwrap();
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
    let figment = Figment::new().merge(Serialized::default("twilio.auth_token", 12345));
    let s = Settings::from_figment(figment).unwrap();
    assert_eq!(s.twilio.auth_token.unwrap().expose(), "12345");
}

#[test]
fn secrets_do_not_show_in_debug() {
    let s = from_toml("[twilio]\nauth_token = \"tok-very-secret-value\"\n").unwrap();
    assert!(!format!("{s:?}").contains("very-secret"));
}
