use super::*;

const DAY: u64 = 86_400;

fn policy() -> Policy {
    Policy {
        calls: Duration::from_secs(90 * DAY),
        messages: Duration::from_secs(30 * DAY),
        grants: Duration::from_secs(60 * DAY),
        webhook_receipts: Duration::from_secs(7 * DAY),
        quota_window: Duration::from_secs(3600),
    }
}

#[test]
fn each_cutoff_is_now_minus_its_own_period() {
    let now = 200 * DAY as i64 * 1000;
    let c = policy().cutoffs(now);
    assert_eq!(c.now, now);
    assert_eq!(c.calls, now - 90 * DAY as i64 * 1000);
    assert_eq!(c.messages, now - 30 * DAY as i64 * 1000);
    assert_eq!(c.grants, now - 60 * DAY as i64 * 1000);
    assert_eq!(c.webhook_receipts, now - 7 * DAY as i64 * 1000);
}

#[test]
fn a_quota_window_is_kept_one_window_after_it_ends() {
    let now = 10 * 3_600_000;
    // The window that started two hours ago ended one hour ago: kept
    // up to exactly now; one that started earlier goes.
    assert_eq!(policy().cutoffs(now).quota_windows, now - 2 * 3_600_000);
}

#[test]
fn cutoffs_before_the_epoch_do_not_overflow() {
    let p = Policy {
        calls: Duration::MAX,
        ..policy()
    };
    assert_eq!(p.cutoffs(0).calls, -i64::MAX);
}
