use super::*;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

fn with(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
    h
}

#[test]
fn retry_after_seconds_are_read_and_capped() {
    assert_eq!(retry_after_ms(&with("120")), Some(120_000));
    assert_eq!(retry_after_ms(&with(" 0 ")), Some(0));
    assert_eq!(retry_after_ms(&with("86400")), Some(MAX_RETRY_AFTER_MS));
    assert_eq!(
        retry_after_ms(&with("18446744073709551615")),
        Some(MAX_RETRY_AFTER_MS)
    );
}

#[test]
fn retry_after_dates_and_garbage_are_ignored() {
    assert_eq!(retry_after_ms(&HeaderMap::new()), None);
    assert_eq!(retry_after_ms(&with("Wed, 21 Oct 2015 07:28:00 GMT")), None);
    assert_eq!(retry_after_ms(&with("-5")), None);
    assert_eq!(retry_after_ms(&with("1.5")), None);
}
