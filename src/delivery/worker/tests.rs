use super::*;

#[test]
fn backoff_grows_is_capped_and_jittered() {
    assert_eq!(backoff_ms(1, 1000, 60_000, 1.0), 1000);
    assert_eq!(backoff_ms(3, 1000, 60_000, 1.0), 4000);
    assert_eq!(backoff_ms(20, 1000, 60_000, 1.0), 60_000);
    assert_eq!(backoff_ms(3, 1000, 60_000, 0.5), 2000);
    assert_eq!(backoff_ms(3, 1000, 60_000, 0.0), 0);
    assert_eq!(backoff_ms(99, i64::MAX / 2, 60_000, 1.0), 60_000);
}
