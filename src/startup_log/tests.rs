use super::*;

#[test]
fn database_and_smtp_passwords_never_show() {
    assert_eq!(
        redacted_url("postgres://app:s3cret@db.internal:5432/pingate"),
        "postgres://app:***@db.internal:5432/pingate"
    );
    let q = redacted_url("postgres://db/pingate?user=app&password=s3cret&sslmode=require");
    assert!(
        !q.contains("s3cret") && q.contains("sslmode=require"),
        "{q}"
    );
    assert_eq!(
        redacted_url("sqlite://data/pingate.db"),
        "sqlite://data/pingate.db"
    );
    let mut s = Settings::default();
    s.email.transport = EmailTransport::Smtp;
    s.email.smtp_url = Some("smtps://mailer:hunter22@smtp.example:465".into());
    s.database.url = "postgres://app:s3cret@db:5432/p".into();
    let text = format!("{:?}", facts(&s, "pingate.toml"));
    assert!(
        !text.contains("hunter22") && !text.contains("s3cret"),
        "{text}"
    );
    assert!(text.contains("smtp.example:465"), "{text}");
}

#[test]
fn the_warnings_of_config_check_are_given_at_start() {
    let mut s = Settings::default();
    s.server.data_dir = std::path::PathBuf::from("/nonexistent/pingate-test");
    let w = warnings(&s, false, false);
    assert_eq!(w.len(), 4, "{w:?}");
    assert!(w[0].contains("503"));
    assert!(w[1].contains("in clear"));
    assert!(w[2].contains("security.pepper"));
    assert!(w[3].contains("signing key"));
    s.twilio.auth_token = Some("t".into());
    s.security.pepper = Some("p".repeat(40).as_str().into());
    s.email.transport = EmailTransport::Smtp;
    s.sms.transport = SmsTransport::Twilio;
    assert_eq!(warnings(&s, false, true), Vec::<String>::new());
}
