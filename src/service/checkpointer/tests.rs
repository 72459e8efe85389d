use super::*;

#[test]
fn a_checkpoint_is_due_after_enough_events_or_time_but_never_for_none() {
    let five_min = Duration::from_secs(300);
    assert!(!due(3, 3, 10_000_000, 1000, five_min), "nothing new");
    assert!(!due(999, 0, 0, 1000, five_min));
    assert!(due(1000, 0, 0, 1000, five_min));
    assert!(due(1, 0, 300_000, 1000, five_min));
    assert!(!due(1, 0, 299_999, 1000, five_min));
    assert!(
        !due(2, 5, 10_000_000, 1, five_min),
        "a shorter log is not due"
    );
}
