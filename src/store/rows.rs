//! Multi-row statements: a `VALUES` list of placeholders, so many rows go
//! in one round trip to the connection instead of one each.
//!
//! On SQLite the placeholders are anonymous (`?`). A numbered one (`$7`) is
//! a *named* parameter there: the parser looks each name up among those
//! seen before, and sqlx asks for every parameter's name when it binds, a
//! scan of the same list, so a statement of n parameters cost O(n²) twice.
//! A batch of 128 calls has 2,048 (docs/operating.md, "Anonymous
//! placeholders on SQLite"). PostgreSQL has only numbered ones.

use std::fmt::{self, Write as _};

use sqlx::AnyConnection;

/// The placeholders of one statement, written in the order their values
/// are bound, each value bound once for each placeholder written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placeholders {
    anonymous: bool,
    next: usize,
}

impl Placeholders {
    /// Anonymous on SQLite, numbered from `$1` elsewhere.
    pub(super) fn for_conn(conn: &AnyConnection) -> Self {
        Self::new(conn.backend_name() == "SQLite")
    }

    pub(super) fn new(anonymous: bool) -> Self {
        Placeholders { anonymous, next: 1 }
    }

    /// `?` (SQLite), which also means several statements may share one
    /// query (one round trip), their values bound in turn.
    pub(super) fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    /// The next placeholder (and the next value to bind).
    pub(super) fn next(&mut self) -> Placeholder {
        let n = self.next;
        self.next += 1;
        Placeholder(if self.anonymous { None } else { Some(n) })
    }

    /// Appends `rows` tuples of `width` placeholders, each closed by
    /// `tail` (constant SQL such as `", 0, 1"`: no placeholder).
    pub(super) fn push_values(&mut self, sql: &mut String, rows: usize, width: usize, tail: &str) {
        for i in 0..rows {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for k in 0..width {
                let _ = write!(sql, "{}{}", if k == 0 { "" } else { ", " }, self.next());
            }
            sql.push_str(tail);
            sql.push(')');
        }
    }
}

/// `?`, or `$n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placeholder(Option<usize>);

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("?"),
            Some(n) => write!(f, "${n}"),
        }
    }
}

#[cfg(test)]
mod tests;
