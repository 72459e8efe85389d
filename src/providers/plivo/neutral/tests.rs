use super::*;

#[test]
fn plivo_numbers_gain_their_plus() {
    assert_eq!(e164("14155550100"), "+14155550100");
    assert_eq!(e164(" 8613800138000 "), "+8613800138000");
    assert_eq!(e164("+14155550100"), "+14155550100");
    for kept in [
        "sip:alice@phone.plivo.com",
        "anonymous",
        "",
        "1234567890123456",
        "1-415",
    ] {
        assert_eq!(e164(kept), kept.trim(), "{kept:?}");
    }
}

#[test]
fn final_statuses_only() {
    assert_eq!(call_end("completed"), Some(CallEnd::Completed));
    assert_eq!(call_end("timeout"), Some(CallEnd::NoAnswer));
    assert_eq!(call_end("cancel"), Some(CallEnd::Canceled));
    for interim in ["in-progress", "ringing", ""] {
        assert_eq!(call_end(interim), None, "{interim}");
    }
    assert_eq!(
        delivery_outcome("undelivered"),
        Some(DeliveryOutcome::Undelivered)
    );
    assert_eq!(delivery_outcome("failed"), Some(DeliveryOutcome::Failed));
    assert_eq!(
        delivery_outcome("delivered"),
        Some(DeliveryOutcome::Delivered)
    );
    for interim in ["queued", "sent", ""] {
        assert_eq!(delivery_outcome(interim), None, "{interim}");
    }
}
