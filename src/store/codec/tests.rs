use super::*;

const SQLITE: &str = include_str!("../../../migrations/sqlite/0020_enum_checks.sql");
const POSTGRES: &str = include_str!("../../../migrations/postgres/0020_enum_checks.sql");

/// The values a migration's CHECK constraint `{table}_{column}_known` allows.
fn allowed(sql: &str, table: &str, column: &str) -> Vec<String> {
    let head = format!("{table}_{column}_known CHECK ({column} IN (");
    let start = sql.find(&head).unwrap_or_else(|| panic!("no {head}")) + head.len();
    let end = start + sql[start..].find("))").expect("a closed list");
    sql[start..end]
        .split(',')
        .map(|v| v.trim().trim_matches('\'').to_string())
        .collect()
}

fn forms<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<String> {
    all.iter().map(|v| as_str(*v).to_string()).collect()
}

#[test]
fn each_check_constraint_allows_exactly_what_its_enum_spells() {
    let columns: [(&str, &str, Vec<String>); 8] = [
        (
            "calls",
            "status",
            forms(CallStatus::ALL, CallStatus::as_str),
        ),
        (
            "calls",
            "verification",
            forms(Verification::ALL, Verification::as_str),
        ),
        (
            "challenges",
            "status",
            forms(ChallengeStatus::ALL, ChallengeStatus::as_str),
        ),
        (
            "challenges",
            "channel",
            forms(Channel::ALL, Channel::as_str),
        ),
        (
            "grants",
            "basis",
            forms(GrantBasis::ALL, GrantBasis::as_str),
        ),
        (
            "messages",
            "kind",
            forms(MessageKind::ALL, MessageKind::as_str),
        ),
        ("messages", "channel", forms(Channel::ALL, Channel::as_str)),
        (
            "messages",
            "status",
            forms(MessageStatus::ALL, MessageStatus::as_str),
        ),
    ];
    for (table, column, values) in columns {
        for (engine, sql) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            assert_eq!(
                allowed(sql, table, column),
                values,
                "{engine}: {table}.{column}"
            );
        }
    }
}
