use super::{PER_CALL, Placeholders, insert_calls_sql};

/// Every `$n` in `sql`, in the order written.
fn numbered(sql: &str) -> Vec<usize> {
    sql.split('$')
        .skip(1)
        .map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("a number after $")
        })
        .collect()
}

#[test]
fn on_sqlite_a_batch_binds_anonymous_placeholders_only() {
    let sql = insert_calls_sql(3, Placeholders::new(true));
    assert!(!sql.contains('$'), "{sql}");
    assert_eq!(sql.matches('?').count(), 3 * PER_CALL);
}

#[test]
fn elsewhere_each_parameter_is_written_once_in_binding_order() {
    let sql = insert_calls_sql(3, Placeholders::new(false));
    let expected: Vec<usize> = (1..=3 * PER_CALL).collect();
    assert_eq!(numbered(&sql), expected);
    assert!(!sql.contains('?'));
}
