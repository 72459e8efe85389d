use super::*;

#[test]
fn each_outcome_moves_a_message_to_its_status() {
    for o in DeliveryOutcome::ALL {
        assert_eq!(o.status().as_str(), o.as_str());
        assert_eq!(DeliveryOutcome::parse(o.as_str()), Some(*o));
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

#[test]
fn only_queued_and_sending_messages_await_sending() {
    let waiting: Vec<_> = MessageStatus::ALL
        .iter()
        .filter(|s| s.awaits_sending())
        .map(|s| s.as_str())
        .collect();
    assert_eq!(waiting, ["queued", "sending"]);
}
