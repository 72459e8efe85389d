use super::*;

#[test]
fn only_passed_a_is_full_attestation() {
    assert_eq!(
        attestation(Some("TN-Validation-Passed-A")),
        Attestation::Full
    );
    assert_eq!(
        attestation(Some(" TN-Validation-Passed-A ")),
        Attestation::Full
    );
    for partial in ["TN-Validation-Passed-B", "TN-Validation-Passed-C"] {
        assert_eq!(attestation(Some(partial)), Attestation::Partial);
    }
    for none in [
        None,
        Some("No-TN-Validation"),
        Some("TN-Validation-Failed-A"),
        Some(""),
    ] {
        assert_eq!(attestation(none), Attestation::Unverified, "{none:?}");
    }
}

#[test]
fn final_call_statuses_end_the_call() {
    for s in ["completed", "busy", "failed", "no-answer", "canceled"] {
        assert_eq!(call_end(s).map(CallEnd::as_str), Some(s));
    }
    for s in ["queued", "ringing", "in-progress", "initiated", ""] {
        assert_eq!(call_end(s), None, "{s}");
    }
}

#[test]
fn final_reports_move_a_message_and_others_do_not() {
    assert_eq!(delivery_outcome("read"), Some(DeliveryOutcome::Delivered));
    assert_eq!(
        delivery_outcome("undelivered"),
        Some(DeliveryOutcome::Undelivered)
    );
    for interim in ["queued", "sending", "sent", "accepted", ""] {
        assert_eq!(delivery_outcome(interim), None, "{interim}");
    }
}
