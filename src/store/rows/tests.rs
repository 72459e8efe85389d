use super::Placeholders;

#[test]
fn numbers_every_placeholder_once_in_row_order() {
    let mut marks = Placeholders::new(false);
    let mut sql = format!("SELECT {}; VALUES ", marks.next());
    marks.push_values(&mut sql, 3, 2, ", 0");
    assert_eq!(
        sql,
        "SELECT $1; VALUES ($2, $3, 0), ($4, $5, 0), ($6, $7, 0)"
    );
    assert_eq!(marks.next().to_string(), "$8");
}

#[test]
fn anonymous_placeholders_carry_no_number() {
    let mut marks = Placeholders::new(true);
    let mut sql = String::from("VALUES ");
    marks.push_values(&mut sql, 2, 3, ", 1");
    assert_eq!(sql, "VALUES (?, ?, ?, 1), (?, ?, ?, 1)");
    assert_eq!(marks.next().to_string(), "?");
}

#[test]
fn no_rows_add_nothing() {
    let mut marks = Placeholders::new(false);
    let mut sql = String::new();
    marks.push_values(&mut sql, 0, 3, "");
    assert!(sql.is_empty());
    assert_eq!(marks.next().to_string(), "$1");
}
