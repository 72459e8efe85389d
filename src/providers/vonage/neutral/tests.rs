use super::*;

#[test]
fn vonage_numbers_become_e164_and_others_stay() {
    assert_eq!(e164("447700900000"), "+447700900000");
    assert_eq!(e164(" 14155550100 "), "+14155550100");
    assert_eq!(e164("Unknown"), "Unknown");
    assert_eq!(e164("sip:alice@example.com"), "sip:alice@example.com");
    assert_eq!(e164(""), "");
    assert_eq!(e164("1234567890123456"), "1234567890123456");
}

#[test]
fn final_statuses_end_the_call() {
    for (status, end) in [
        ("completed", CallEnd::Completed),
        ("busy", CallEnd::Busy),
        ("failed", CallEnd::Failed),
        ("rejected", CallEnd::Failed),
        ("timeout", CallEnd::NoAnswer),
        ("unanswered", CallEnd::NoAnswer),
        ("cancelled", CallEnd::Canceled),
    ] {
        assert_eq!(call_end(status), Some(end), "{status}");
    }
    for status in [
        "started",
        "ringing",
        "answered",
        "disconnected",
        "human",
        "",
    ] {
        assert_eq!(call_end(status), None, "{status}");
    }
}

#[test]
fn only_final_receipts_have_an_outcome() {
    assert_eq!(
        delivery_outcome("delivered"),
        Some(DeliveryOutcome::Delivered)
    );
    assert_eq!(
        delivery_outcome("expired"),
        Some(DeliveryOutcome::Undelivered)
    );
    assert_eq!(
        delivery_outcome("rejected"),
        Some(DeliveryOutcome::Undelivered)
    );
    assert_eq!(delivery_outcome("failed"), Some(DeliveryOutcome::Failed));
    for status in ["accepted", "buffered", "unknown", "DELIVRD"] {
        assert_eq!(delivery_outcome(status), None, "{status}");
    }
}
