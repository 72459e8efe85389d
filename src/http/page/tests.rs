use super::split;

#[test]
fn a_full_last_page_has_no_next_and_a_longer_list_has_one() {
    assert_eq!(split(vec![1], 1, |x| *x), (vec![1], None));
    assert_eq!(split(vec![1, 2], 1, |x| *x), (vec![1], Some(1)));
    assert_eq!(split(Vec::<i32>::new(), 3, |x| *x), (vec![], None));
}
