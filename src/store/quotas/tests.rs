use super::*;

#[test]
fn windows_are_aligned_and_end_after_start() {
    assert_eq!(window_start(3_600_123, 3_600_000), 3_600_000);
    assert_eq!(window_end(3_600_123, 3_600_000), 7_200_000);
    assert_eq!(window_start(5, 0), 5);
}
