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
    let providers = s.provider_warnings();
    assert!(
        providers.iter().any(|p| p.contains("503")),
        "an unsigned provider is told: {providers:?}"
    );
    assert_eq!(w[..providers.len()], providers[..], "{w:?}");
    let rest = &w[providers.len()..];
    assert_eq!(rest.len(), 3, "{w:?}");
    assert!(rest[0].contains("in clear"));
    assert!(rest[1].contains("security.pepper"));
    assert!(rest[2].contains("signing key"));
    // With the pepper and the key in place only the provider's and the
    // file transport's remain.
    s.security.pepper = Some("p".repeat(40).as_str().into());
    assert_eq!(warnings(&s, false, true), w[..providers.len() + 1]);
}
