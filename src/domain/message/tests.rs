use super::*;

#[test]
fn final_reports_move_a_message_and_others_do_not() {
    assert_eq!(
        MessageStatus::from_report("read"),
        Some(MessageStatus::Delivered)
    );
    assert_eq!(
        MessageStatus::from_report("undelivered"),
        Some(MessageStatus::Undelivered)
    );
    for interim in ["queued", "sending", "sent", "accepted", ""] {
        assert_eq!(MessageStatus::from_report(interim), None, "{interim}");
    }
}

#[test]
fn only_undelivered_failed_and_dead_call_for_a_fallback() {
    let failed: Vec<_> = MessageStatus::ALL
        .iter()
        .filter(|s| s.failed_for_good())
        .map(|s| s.as_str())
        .collect();
    assert_eq!(failed, ["undelivered", "failed", "dead"]);
}

#[test]
fn string_forms_round_trip() {
    for s in MessageStatus::ALL {
        assert_eq!(MessageStatus::parse(s.as_str()), Some(*s));
    }
    for k in MessageKind::ALL {
        assert_eq!(MessageKind::parse(k.as_str()), Some(*k));
    }
}
