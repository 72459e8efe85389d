use super::*;

#[test]
fn only_a_validated_a_is_full_attestation() {
    assert_eq!(attestation(Some("A"), Some("true")), Attestation::Full);
    assert_eq!(attestation(Some("A"), Some("True")), Attestation::Full);
    assert_eq!(attestation(Some("B"), Some("true")), Attestation::Partial);
    assert_eq!(attestation(Some("C"), Some("true")), Attestation::Partial);
    for (level, validated) in [
        (Some("A"), Some("false")),
        (Some("A"), None),
        (None, Some("true")),
        (Some("a"), Some("true")),
        (Some("X"), Some("true")),
    ] {
        assert_eq!(
            attestation(level, validated),
            Attestation::Unverified,
            "{level:?} {validated:?}"
        );
    }
}

#[test]
fn final_statuses_only() {
    assert_eq!(call_end("no-answer"), Some(CallEnd::NoAnswer));
    assert_eq!(call_end("in-progress"), None);
    assert_eq!(
        delivery_outcome("delivery_failed"),
        Some(DeliveryOutcome::Undelivered)
    );
    assert_eq!(
        delivery_outcome("sending_failed"),
        Some(DeliveryOutcome::Failed)
    );
    for interim in ["queued", "sending", "sent", "delivery_unconfirmed", ""] {
        assert_eq!(delivery_outcome(interim), None, "{interim}");
    }
}
