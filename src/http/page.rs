//! Cursor pages: a list asks the store for one row more than the page
//! holds, so `next` is a cursor only when another page really exists
//! (never a cursor to an empty page).

/// Trims `rows` (fetched with `limit + 1`) to `limit` and gives the cursor
/// of the next page, if there is one.
pub fn split<T, C>(mut rows: Vec<T>, limit: i64, cursor: impl Fn(&T) -> C) -> (Vec<T>, Option<C>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(cursor);
    (rows, next)
}

#[cfg(test)]
mod tests;
