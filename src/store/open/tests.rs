use super::*;

#[test]
fn a_target_never_shows_the_password() {
    let t = PgTarget::from_url("postgres://app:s3cret@db.example:6543/pingate").unwrap();
    assert_eq!(
        t.to_string(),
        "PostgreSQL at db.example:6543 (database pingate, user app)"
    );
    let err = diagnose(
        &t,
        &sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
    );
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert!(err.why.starts_with("connection refused"), "{err}");
}
