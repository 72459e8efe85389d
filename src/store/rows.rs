//! Multi-row statements: a `VALUES` list of numbered placeholders, so many
//! rows go in one round trip to the connection instead of one each.

use std::fmt::Write as _;

/// Appends `rows` tuples of `width` placeholders, numbered on from
/// `first` (`$first`, `$first + 1`, …), each closed by `tail` (constant
/// SQL such as `", 0, 1"`). Returns the number of the next placeholder.
pub(super) fn push_values(
    sql: &mut String,
    rows: usize,
    width: usize,
    first: usize,
    tail: &str,
) -> usize {
    let mut next = first;
    for i in 0..rows {
        sql.push_str(if i == 0 { "(" } else { ", (" });
        for k in 0..width {
            let _ = write!(sql, "{}${next}", if k == 0 { "" } else { ", " });
            next += 1;
        }
        sql.push_str(tail);
        sql.push(')');
    }
    next
}

#[cfg(test)]
mod tests;
