use super::push_values;

#[test]
fn numbers_every_placeholder_once_in_row_order() {
    let mut sql = String::from("VALUES ");
    let next = push_values(&mut sql, 3, 2, 4, ", 0");
    assert_eq!(sql, "VALUES ($4, $5, 0), ($6, $7, 0), ($8, $9, 0)");
    assert_eq!(next, 10);
}

#[test]
fn no_rows_add_nothing() {
    let mut sql = String::new();
    assert_eq!(push_values(&mut sql, 0, 3, 1, ""), 1);
    assert!(sql.is_empty());
}
