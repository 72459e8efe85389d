//! Route coverage: the routes the router serves, found by scanning the router
//! sources, are exactly the documented ones.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{METHODS, document, operations};

fn src_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(rel)
}

fn read_src(rel: &str) -> String {
    std::fs::read_to_string(src_path(rel)).unwrap_or_else(|e| panic!("read src/{rel}: {e}"))
}

/// The source without comments, string and char literals kept intact, so a
/// commented-out or documented `.route(...)` is not mistaken for a route.
fn strip_comments(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            out.push(c);
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                out.push('"');
                i += 1;
            }
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal ('"' would otherwise open a string); lifetimes pass.
            let end = (i + 1..chars.len())
                .find(|&j| chars[j] == '\'' && (j > i + 2 || next != Some('\\')))
                .unwrap_or(chars.len() - 1);
            out.extend(&chars[i..=end]);
            i = end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The text between the parenthesis that opens at `open` and its match.
fn balanced(src: &str, open: usize) -> &str {
    let bytes = src.as_bytes();
    assert_eq!(bytes[open], b'(');
    let mut depth = 0usize;
    let mut in_str = false;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' if !in_str => depth += 1,
            b')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return &src[open + 1..i];
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("unbalanced parenthesis at byte {open}");
}

/// Splits at commas that are not nested in brackets.
fn top_level_args(s: &str) -> Vec<String> {
    let mut args = vec![String::new()];
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        args.last_mut().unwrap().push(c);
    }
    args.into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

/// Identifiers directly followed by `(` at the top level of `expr`: the
/// method routers of `get(a).post(b)`, not the handlers inside them.
fn top_level_calls(expr: &str) -> Vec<String> {
    let bytes = expr.as_bytes();
    let mut calls = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'(' {
            depth += 1;
        } else if b == b')' {
            depth -= 1;
        } else if depth == 0 && (b.is_ascii_alphabetic() || b == b'_') {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let ident = &expr[start..i];
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if bytes.get(j) == Some(&b'(') {
                calls.push(ident.to_string());
            }
            continue;
        }
        i += 1;
    }
    calls
}

/// `(METHOD, path)` of every `.route("PATH", get(..).post(..))` in a file.
fn routes_in(file: &str) -> Vec<(String, String)> {
    let src = strip_comments(&read_src(file));
    for unsupported in [
        ".nest(",
        ".nest_service(",
        ".route_service(",
        "on(MethodFilter",
    ] {
        assert!(
            !src.contains(unsupported),
            "src/{file} uses `{unsupported}`, which this test's route scan does not understand: extend it"
        );
    }
    let mut routes = Vec::new();
    let mut from = 0;
    while let Some(pos) = src[from..].find(".route(") {
        let open = from + pos + ".route".len();
        let inner = balanced(&src, open);
        let args = top_level_args(inner);
        assert_eq!(args.len(), 2, "src/{file}: cannot read `.route({inner})`");
        let path = args[0]
            .strip_prefix('"')
            .and_then(|p| p.strip_suffix('"'))
            .unwrap_or_else(|| {
                panic!(
                    "src/{file}: route path is not a string literal: {}",
                    args[0]
                )
            });
        let methods = top_level_calls(&args[1]);
        assert!(
            !methods.is_empty(),
            "src/{file}: no method router in `.route({inner})`"
        );
        for m in methods {
            assert!(
                METHODS.contains(&m.as_str()),
                "src/{file}: route {path} uses `{m}(..)`, not a method this test knows; extend the scan"
            );
            routes.push((m.to_uppercase(), path.to_string()));
        }
        from = open + inner.len();
    }
    routes
}

/// `const AGENT: &[Role] = &[Role::Agent];` → `AGENT` → {"agent"}.
fn role_constants(src: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for line in src.lines() {
        let Some(rest) = line.trim().strip_prefix("const ") else {
            continue;
        };
        let Some((name, value)) = rest.split_once(": &[Role] =") else {
            continue;
        };
        let roles = value
            .split("Role::")
            .skip(1)
            .map(|r| {
                r.chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_lowercase()
            })
            .collect();
        out.insert(name.trim().to_string(), roles);
    }
    out
}

/// A router module path from `src/http/mod.rs` (`calls`,
/// `providers::twilio::http`) → its file under `src/`.
fn module_file(module: &str) -> String {
    let rel = module.trim_start_matches("crate::").replace("::", "/");
    let candidates = [
        format!("http/{rel}.rs"),
        format!("http/{rel}/mod.rs"),
        format!("{rel}.rs"),
        format!("{rel}/mod.rs"),
    ];
    candidates
        .iter()
        .find(|c| src_path(c).is_file())
        .unwrap_or_else(|| {
            panic!("no source file for router module `{module}` (tried {candidates:?})")
        })
        .clone()
}

/// `let NAME = EXPR;` bindings of a source file.
fn let_bindings(src: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut from = 0;
    while let Some(pos) = src[from..].find("let ") {
        let start = from + pos + "let ".len();
        from = start;
        let rest = &src[start..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let Some(expr) = rest[name.len()..].trim_start().strip_prefix('=') else {
            continue;
        };
        let mut depth = 0i32;
        let end = expr
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    _ => {}
                }
                c == ';' && depth == 0
            })
            .map_or(expr.len(), |(i, _)| i);
        out.insert(name, expr[..end].trim().to_string());
    }
    out
}

/// The router module an expression builds on: `calls::router()` and
/// `providers::twilio::http::router().route_layer(..)` → the path before
/// `::router()`.
fn router_module(expr: &str) -> Option<&str> {
    let end = expr.find("::router()")?;
    let start = expr[..end]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .map_or(0, |i| i + 1);
    Some(&expr[start..end])
}

/// Every route the application serves, with the roles its group requires
/// (`None`: not behind a bearer token), read from the `.merge(..)` calls of
/// `src/http/mod.rs` (directly, or through a `let` binding) and the
/// `.route(..)` calls of each merged router's file.
pub(super) fn served_routes() -> BTreeMap<(String, String), Option<BTreeSet<String>>> {
    let src = strip_comments(&read_src("http/mod.rs"));
    let roles = role_constants(&src);
    let lets = let_bindings(&src);
    let mut served = BTreeMap::new();
    let mut files = Vec::new();
    let mut from = 0;
    while let Some(pos) = src[from..].find(".merge(") {
        let open = from + pos + ".merge".len();
        let inner = balanced(&src, open).trim().to_string();
        from = open + inner.len();
        let (expr, group_roles) = match inner.strip_prefix("guarded(") {
            Some(rest) => {
                let args = top_level_args(rest.strip_suffix(')').expect("guarded(..) call"));
                assert_eq!(
                    args.len(),
                    3,
                    "cannot read `.merge({inner})` in src/http/mod.rs"
                );
                let r = roles
                    .get(&args[1])
                    .unwrap_or_else(|| {
                        panic!("role constant {} not found in src/http/mod.rs", args[1])
                    })
                    .clone();
                (args[2].clone(), Some(r))
            }
            None => (inner.clone(), None),
        };
        let expr = match lets.get(&expr) {
            // A group of merges bound to a name: each of its merges is
            // scanned on its own.
            Some(bound) if bound.contains(".merge(") => continue,
            Some(bound) => bound.clone(),
            None => expr,
        };
        let module = router_module(&expr).unwrap_or_else(|| {
            panic!("cannot read `.merge({inner})` in src/http/mod.rs: expected a `path::router()`, got `{expr}`")
        });
        let file = module_file(module);
        let routes = routes_in(&file);
        assert!(
            !routes.is_empty(),
            "src/{file} is merged into the router but no `.route(..)` was found in it"
        );
        // The agent console is HTML for browsers (docs/console.md), not
        // part of the JSON API this document describes; it must keep to
        // its own prefix so no API route can hide among its pages.
        if file == "console/mod.rs" {
            let stray: Vec<_> = routes
                .iter()
                .filter(|(_, path)| path != "/console" && !path.starts_with("/console/"))
                .collect();
            assert!(
                stray.is_empty(),
                "console routes outside /console: {stray:?}"
            );
            files.push(file);
            continue;
        }
        for route in routes {
            if let Some(previous) = served.insert(route.clone(), group_roles.clone()) {
                panic!(
                    "{} {} is routed twice (roles {previous:?} and {group_roles:?})",
                    route.0, route.1
                );
            }
        }
        files.push(file);
    }
    // The scan must have found the groups the design names.
    for expected in [
        "http/ops.rs",
        "http/calls.rs",
        "http/grants.rs",
        "http/audit.rs",
        "http/orgs.rs",
        "http/webhooks/twilio.rs",
        "http/webhooks/telnyx.rs",
        "http/webhooks/plivo.rs",
        "http/webhooks/vonage.rs",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "src/{expected} not found merged in src/http/mod.rs: {files:?}"
        );
    }
    served
}
#[test]
fn openapi_documents_exactly_the_routes_the_router_serves() {
    let doc = document();
    let served: BTreeSet<(String, String)> = served_routes().into_keys().collect();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let undocumented: Vec<String> = served
        .difference(&documented)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let unserved: Vec<String> = documented
        .difference(&served)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "routes served but not documented (a `#[utoipa::path]` named in src/http/openapi.rs): {undocumented:#?}\n\
         operations documented but not served by the router: {unserved:#?}"
    );
}

#[test]
fn route_scan_reads_method_routers_and_ignores_comments() {
    let src = strip_comments(
        "// .route(\"/commented\", get(x))\n/* .route(\"/block\", get(x)) */ let c = '\"'; \
         r.route(\"/a/{id}\", get(get_a).put(put_a).delete(delete))",
    );
    assert!(
        !src.contains("/commented") && !src.contains("/block"),
        "{src}"
    );
    let open = src.find(".route(").unwrap() + ".route".len();
    let args = top_level_args(balanced(&src, open));
    assert_eq!(args[0], "\"/a/{id}\"");
    assert_eq!(top_level_calls(&args[1]), ["get", "put", "delete"]);
    let roles = role_constants("const BOTH: &[Role] = &[Role::Agent, Role::Admin];");
    assert_eq!(
        roles["BOTH"],
        BTreeSet::from(["agent".to_string(), "admin".to_string()])
    );
}
