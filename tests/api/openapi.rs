//! The OpenAPI document served at `/openapi.json` against the code: it is
//! what the server sends, every `$ref` resolves, it documents exactly the
//! routes the router serves (found by scanning the router sources, so a
//! route added on one side only fails here by name), with the roles each
//! group is guarded by, and live answers carry what it promises.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{ACCOUNT_SID, Engine, TestApp, call_sid};

const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];
/// Routes that have no error of their own to document.
const NO_PROBLEM_NEEDED: [&str; 3] = ["/healthz", "/metrics", "/openapi.json"];
/// Routes whose only error is a server-side one (readiness: 503).
const SERVER_PROBLEM_ONLY: [&str; 1] = ["/readyz"];
const PROBLEM_REF: &str = "#/components/schemas/Problem";
const BEARER: &str = "bearerAuth";

fn document() -> Value {
    serde_json::from_str(pingate::http::ops::OPENAPI).expect("src/http/openapi.json is valid JSON")
}

// ------------------------------------------------------------------ source scan

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
fn served_routes() -> BTreeMap<(String, String), Option<BTreeSet<String>>> {
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
        "providers/twilio/http.rs",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "src/{expected} not found merged in src/http/mod.rs: {files:?}"
        );
    }
    served
}

// ------------------------------------------------------------------ document helpers

/// JSON pointer of a local `$ref` (`#/components/schemas/Call`).
fn resolve_ref<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

/// Follows `$ref`s until a value without one.
fn deref<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => v = resolve_ref(doc, r).unwrap_or_else(|| panic!("unresolved $ref {r}")),
            None => return v,
        }
    }
    panic!("$ref chain too long (a cycle?)");
}

/// `(METHOD, path template, operation)` of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for (method, op) in item.as_object().expect("path item is an object") {
            if METHODS.contains(&method.as_str()) {
                ops.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    ops
}

fn collect_refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    out.push((at.clone(), child.as_str().unwrap_or("<not a string>")));
                } else {
                    collect_refs(
                        child,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_refs(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Whether a schema is, or is built from, the Problem schema.
fn reaches_problem(doc: &Value, schema: &Value, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r == PROBLEM_REF
            || resolve_ref(doc, r).is_some_and(|s| reaches_problem(doc, s, depth + 1));
    }
    ["allOf", "oneOf", "anyOf"].iter().any(|k| {
        schema
            .get(*k)
            .and_then(Value::as_array)
            .is_some_and(|parts| parts.iter().any(|p| reaches_problem(doc, p, depth + 1)))
    })
}

/// The security requirements that apply to an operation.
fn effective_security<'a>(doc: &'a Value, op: &'a Value) -> &'a [Value] {
    op.get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

// ------------------------------------------------------------------ (a) the served document

async fn served_document_is_the_file(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let resp = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let text = resp.text().await.unwrap();
    assert_eq!(
        text,
        pingate::http::ops::OPENAPI,
        "GET /openapi.json differs from src/http/openapi.json"
    );
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(
        version.starts_with("3.1"),
        "openapi is {version}, expected 3.1.x"
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    app.shutdown().await;
}
on_both_engines!(
    openapi_document_is_served_verbatim,
    served_document_is_the_file
);

// ------------------------------------------------------------------ (b) route coverage

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
        "routes served but not documented in src/http/openapi.json: {undocumented:#?}\n\
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

// ------------------------------------------------------------------ (c) references

#[test]
fn openapi_every_ref_resolves() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, "#".into(), &mut refs);
    assert!(!refs.is_empty());
    let broken: Vec<String> = refs
        .iter()
        .filter(|(_, r)| !r.starts_with("#/") || resolve_ref(&doc, r).is_none())
        .map(|(at, r)| format!("{at}: {r}"))
        .collect();
    assert!(broken.is_empty(), "unresolved $ref: {broken:#?}");
}

#[test]
fn openapi_operation_ids_are_unique_and_path_parameters_declared() {
    let doc = document();
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
        assert!(
            op["summary"].is_string() && op["description"].is_string(),
            "{method} {path}: summary/description"
        );
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                doc["paths"][&path]["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            )
            .map(|p| deref(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameter {} must be required",
                    p["name"]
                );
                p["name"].as_str().unwrap()
            })
            .collect();
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        assert_eq!(declared, in_template, "{method} {path}: path parameters");
    }
}

// ------------------------------------------------------------------ (d) errors and security

#[test]
fn openapi_every_operation_documents_its_problems() {
    let doc = document();
    let mut missing = Vec::new();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}: no responses"));
        for (status, resp) in responses {
            let resp = deref(&doc, resp);
            assert!(
                resp["description"].is_string(),
                "{method} {path} {status}: response without description"
            );
            // Whatever references Problem is served as problem+json, and the reverse.
            for (media, content) in resp["content"].as_object().into_iter().flatten() {
                let is_problem = reaches_problem(&doc, &content["schema"], 0);
                assert_eq!(
                    is_problem,
                    media == "application/problem+json",
                    "{method} {path} {status}: {media} and the Problem schema go together"
                );
                if status.starts_with(['4', '5']) {
                    assert!(
                        is_problem,
                        "{method} {path} {status}: an error answer must be a Problem"
                    );
                }
            }
        }
        if NO_PROBLEM_NEEDED.contains(&path.as_str()) {
            continue;
        }
        let class = if SERVER_PROBLEM_ONLY.contains(&path.as_str()) {
            '5'
        } else {
            '4'
        };
        let has_4xx_problem = responses.iter().any(|(status, resp)| {
            status.starts_with(class)
                && deref(&doc, resp)["content"]
                    .as_object()
                    .is_some_and(|c| c.values().any(|m| reaches_problem(&doc, &m["schema"], 0)))
        });
        if !has_4xx_problem {
            missing.push(format!("{method} {path}"));
        }
    }
    assert!(
        missing.is_empty(),
        "operations without a 4xx Problem response (5xx for {SERVER_PROBLEM_ONLY:?}): {missing:#?}"
    );
    for name in ["ConflictProblem", "ValidationProblem"] {
        assert!(reaches_problem(
            &doc,
            &json!({"$ref": format!("#/components/schemas/{name}")}),
            0
        ));
    }
    let too_many = deref(&doc, &doc["components"]["responses"]["TooManyRequests"]);
    assert_eq!(
        too_many["headers"]["Retry-After"]["required"], true,
        "429 documents Retry-After"
    );
}

#[test]
fn openapi_roles_and_security_match_the_route_guards() {
    let doc = document();
    let scheme = &doc["components"]["securitySchemes"][BEARER];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let text = scheme["description"]
        .as_str()
        .expect("the scheme describes the roles");
    for role in ["agent", "reviewer", "admin"] {
        assert!(
            text.contains(&format!("`{role}`")),
            "bearer scheme description names role {role}"
        );
    }
    let ops: BTreeMap<(String, String), &Value> = operations(&doc)
        .into_iter()
        .map(|(m, p, op)| ((m, p), op))
        .collect();
    let mut wrong = Vec::new();
    for ((method, path), roles) in served_routes() {
        let Some(op) = ops.get(&(method.clone(), path.clone())) else {
            continue;
        }; // reported by the coverage test
        let security = effective_security(&doc, op);
        let bearer = security.iter().any(|req| req.get(BEARER).is_some());
        let documented: Option<BTreeSet<String>> = op.get("x-pingate-roles").map(|r| {
            r.as_array()
                .unwrap_or_else(|| panic!("{method} {path}: x-pingate-roles is not an array"))
                .iter()
                .map(|v| v.as_str().expect("role name").to_string())
                .collect()
        });
        match &roles {
            Some(required) => {
                if !bearer {
                    wrong.push(format!(
                        "{method} {path}: behind {required:?} but declares no {BEARER} security"
                    ));
                }
                if documented.as_ref() != Some(required) {
                    wrong.push(format!("{method} {path}: x-pingate-roles {documented:?}, the router requires {required:?}"));
                }
                for status in ["401", "403"] {
                    if op["responses"].get(status).is_none() {
                        wrong.push(format!(
                            "{method} {path}: protected but does not document {status}"
                        ));
                    }
                }
            }
            None => {
                if bearer || documented.is_some() {
                    wrong.push(format!(
                        "{method} {path}: not behind a token but documents bearer security or roles"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "security in the document differs from the router: {wrong:#?}"
    );
}

#[test]
fn openapi_webhooks_document_signature_form_twiml_and_403() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        if !path.starts_with("/webhooks/") {
            continue;
        }
        let header = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| deref(&doc, p))
            .find(|p| {
                p["in"] == "header"
                    && p["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case("X-Twilio-Signature"))
            });
        assert!(
            header.is_some_and(|h| h["required"] == true),
            "{method} {path}: X-Twilio-Signature header"
        );
        assert!(
            op["requestBody"]["content"]
                .get("application/x-www-form-urlencoded")
                .is_some(),
            "{method} {path}: form body"
        );
        let forbidden = deref(&doc, &op["responses"]["403"]);
        assert!(
            forbidden["description"]
                .as_str()
                .is_some_and(|d| d.contains("bad-signature")),
            "{method} {path}: 403"
        );
    }
    for path in ["/webhooks/twilio/voice", "/webhooks/twilio/gather"] {
        let ok = &doc["paths"][path]["post"]["responses"]["200"]["content"];
        assert!(
            ok.as_object()
                .is_some_and(|c| c.keys().any(|k| k.starts_with("text/xml"))),
            "{path}: TwiML answer"
        );
    }
}

#[test]
fn openapi_states_the_secret_handling_rules() {
    let doc = document();
    let schema = |name: &str| &doc["components"]["schemas"][name];
    let request = schema("CreateChallengeRequest");
    assert_eq!(
        request["additionalProperties"], false,
        "unknown fields (a destination) are refused"
    );
    assert!(
        request["properties"].get("destination").is_none(),
        "the challenge request has no destination field"
    );
    assert!(
        request["description"]
            .as_str()
            .unwrap()
            .contains("no destination field")
    );
    for name in [
        "Challenge",
        "Call",
        "CheckResult",
        "Grant",
        "Introspection",
        "AuditEvent",
    ] {
        assert!(
            !schema(name).to_string().contains("\"pin\":"),
            "{name} must not carry a PIN"
        );
    }
    assert!(
        schema("Grant")["properties"].get("token").is_none(),
        "a stored grant shows no token"
    );
    assert!(schema("GrantWithToken").to_string().contains("Shown once"));
    assert!(
        schema("Challenge")["description"]
            .as_str()
            .unwrap()
            .contains("PIN itself is never returned")
    );
}

// ------------------------------------------------------------------ live answers against the document

/// Checks `value` against the subset of JSON Schema the document uses for
/// its shapes: `$ref`, `allOf`/`oneOf`/`anyOf`, `type`, `const`, `enum`,
/// `required`, `properties`, `additionalProperties: false`, `items`.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = deref(doc, schema);
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for p in parts {
            conforms(doc, p, value, at, errors);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            let fits = parts.iter().filter(|p| {
                let mut e = Vec::new();
                conforms(doc, p, value, at, &mut e);
                e.is_empty()
            });
            let n = fits.count();
            if n == 0 || (key == "oneOf" && n > 1) {
                errors.push(format!("{at}: {n} of the {key} alternatives match {value}"));
            }
        }
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        errors.push(format!("{at}: expected {c}, got {value}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        errors.push(format!(
            "{at}: {value} is not one of {}",
            Value::Array(e.clone())
        ));
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !fits {
            errors.push(format!("{at}: {value} is not of type {t}"));
        }
    }
    if let Some(obj) = value.as_object() {
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = req.as_str().unwrap();
            if !obj.contains_key(name) {
                errors.push(format!("{at}: required property `{name}` is missing"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => conforms(doc, s, v, &format!("{at}.{k}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: property `{k}` is not documented"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, v) in values.iter().enumerate() {
            conforms(doc, items, v, &format!("{at}[{i}]"), errors);
        }
    }
}

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut req = app
        .client
        .request(method.parse().expect("method"), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = resp.text().await.expect("body");
    let body = if content_type.contains("json") && !text.is_empty() {
        serde_json::from_str(&text).expect("JSON answer")
    } else {
        Value::String(text)
    };
    Answer {
        status,
        content_type,
        body,
    }
}

/// The answer's status is documented for the operation (`template`, the
/// document's path), its media type too, and the body fits the schema.
fn check_answer(doc: &Value, method: &str, template: &str, a: &Answer) -> Value {
    let op = &doc["paths"][template][method.to_lowercase()];
    assert!(op.is_object(), "{method} {template} is not documented");
    let status = a.status.as_u16().to_string();
    let resp = op["responses"].get(&status).unwrap_or_else(|| {
        panic!(
            "{method} {template} answered {status}, which is not documented: {}",
            a.body
        )
    });
    let resp = deref(doc, resp);
    let base = |m: &str| m.split(';').next().unwrap().trim().to_ascii_lowercase();
    match resp.get("content").and_then(Value::as_object) {
        None => assert!(
            a.body.as_str().is_some_and(str::is_empty),
            "{method} {template} {status}: documented without a body, got {}",
            a.body
        ),
        Some(content) => {
            let (_, media) = content
                .iter()
                .find(|(m, _)| base(m) == base(&a.content_type))
                .unwrap_or_else(|| {
                    panic!(
                        "{method} {template} {status}: content type {} is not documented",
                        a.content_type
                    )
                });
            let mut errors = Vec::new();
            conforms(doc, &media["schema"], &a.body, "$", &mut errors);
            assert!(
                errors.is_empty(),
                "{method} {template} {status} does not fit the document: {errors:#?}\n{}",
                a.body
            );
        }
    }
    a.body.clone()
}

async fn live_answers_fit_the_document(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let doc = document();
    let (agent, reviewer, admin) = (
        app.agent_token.as_str(),
        app.reviewer_token.as_str(),
        app.admin_token.as_str(),
    );
    app.import_contoso().await;

    // Operations.
    for path in ["/healthz", "/readyz"] {
        check_answer(
            &doc,
            "GET",
            path,
            &send(&app, "GET", path, None, None).await,
        );
    }

    // Admin: org profiles.
    let a = send(&app, "GET", "/v1/orgs/contoso", Some(admin), None).await;
    assert_eq!(a.status, StatusCode::OK);
    check_answer(&doc, "GET", "/v1/orgs/{org_id}", &a);
    check_answer(
        &doc,
        "GET",
        "/v1/orgs",
        &send(&app, "GET", "/v1/orgs", Some(admin), None).await,
    );
    let fabrikam = json!({
        "id": "fabrikam", "name": "Fabrikam", "account_number": "5550001",
        "registered_numbers": ["+14155550177"], "channels": ["sms"],
        "contacts": {"sms": "+14155550178"}, "language": "en",
    });
    let a = send(
        &app,
        "POST",
        "/v1/orgs",
        Some(admin),
        Some(fabrikam.clone()),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(
        check_answer(&doc, "POST", "/v1/orgs", &a),
        fabrikam,
        "the import shape round-trips"
    );
    let a = send(
        &app,
        "POST",
        "/v1/orgs",
        Some(admin),
        Some(json!({"id": "x", "name": ""})),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    check_answer(&doc, "POST", "/v1/orgs", &a);
    let a = send(
        &app,
        "POST",
        "/v1/orgs/fabrikam/numbers",
        Some(admin),
        Some(json!({"number": "+14155550179"})),
    )
    .await;
    check_answer(&doc, "POST", "/v1/orgs/{org_id}/numbers", &a);
    let a = send(
        &app,
        "DELETE",
        "/v1/orgs/fabrikam/numbers/%2B14155550179",
        Some(admin),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    check_answer(&doc, "DELETE", "/v1/orgs/{org_id}/numbers/{number}", &a);
    let a = send(&app, "DELETE", "/v1/orgs/fabrikam", Some(admin), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    check_answer(&doc, "DELETE", "/v1/orgs/{org_id}", &a);

    // An unknown caller: attach the org, PIN by email, wrong then right.
    let sid = call_sid();
    let twiml = app.call(&sid, "anonymous", None).await;
    assert!(twiml.contains("<Gather"), "{twiml}");
    let call_id = app.call_id_for(&sid).await;
    let a = send(
        &app,
        "POST",
        &format!("/v1/calls/{call_id}/org"),
        Some(agent),
        Some(json!({"org_id": "contoso"})),
    )
    .await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/calls/{call_id}/org", &a)["verification"],
        "pin_required"
    );
    let a = send(
        &app,
        "POST",
        &format!("/v1/calls/{call_id}/challenges"),
        Some(agent),
        Some(json!({"channel": "email", "destination": "attacker@example.com"})),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "a destination field is refused: {}",
        a.body
    );
    check_answer(&doc, "POST", "/v1/calls/{call_id}/challenges", &a);
    let a = send(
        &app,
        "POST",
        &format!("/v1/calls/{call_id}/challenges"),
        Some(agent),
        Some(json!({"channel": "email"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let challenge = check_answer(&doc, "POST", "/v1/calls/{call_id}/challenges", &a);
    let challenge_id = challenge["challenge_id"].as_str().unwrap().to_string();
    let a = send(
        &app,
        "GET",
        &format!("/v1/challenges/{challenge_id}"),
        Some(agent),
        None,
    )
    .await;
    check_answer(&doc, "GET", "/v1/challenges/{challenge_id}", &a);
    let a = send(
        &app,
        "POST",
        &format!("/v1/challenges/{challenge_id}/resend"),
        Some(agent),
        None,
    )
    .await;
    check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/resend", &a);
    let pin = app.pin_from_email(1).await;
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let check_path = format!("/v1/challenges/{challenge_id}/check");
    let a = send(
        &app,
        "POST",
        &check_path,
        Some(agent),
        Some(json!({"pin": wrong})),
    )
    .await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/check", &a)["status"],
        "pending"
    );
    let a = send(
        &app,
        "POST",
        &check_path,
        Some(agent),
        Some(json!({"pin": "12"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/check", &a);
    let a = send(
        &app,
        "POST",
        &check_path,
        Some(agent),
        Some(json!({"pin": pin})),
    )
    .await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/check", &a)["status"],
        "approved"
    );
    let a = send(
        &app,
        "POST",
        &check_path,
        Some(agent),
        Some(json!({"pin": pin})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(
        check_answer(&doc, "POST", "/v1/challenges/{challenge_id}/check", &a)["state"],
        "approved"
    );
    let a = send(
        &app,
        "GET",
        &format!("/v1/calls/{call_id}"),
        Some(agent),
        None,
    )
    .await;
    let call = check_answer(&doc, "GET", "/v1/calls/{call_id}", &a);
    assert!(
        !call.to_string().contains(&format!("\"{pin}\"")),
        "the PIN is never returned"
    );

    // A trusted caller: grant without a PIN, read it, introspect it.
    let sid = call_sid();
    app.call(&sid, "+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let call_id = app.call_id_for(&sid).await;
    check_answer(
        &doc,
        "GET",
        "/v1/calls",
        &send(&app, "GET", "/v1/calls?status=active", Some(agent), None).await,
    );
    let a = send(
        &app,
        "GET",
        &format!("/v1/calls/{call_id}"),
        Some(agent),
        None,
    )
    .await;
    assert_eq!(
        check_answer(&doc, "GET", "/v1/calls/{call_id}", &a)["verification"],
        "trusted_number"
    );
    let a = send(
        &app,
        "POST",
        &format!("/v1/calls/{call_id}/grant"),
        Some(agent),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let issued = check_answer(&doc, "POST", "/v1/calls/{call_id}/grant", &a);
    let grant_id = issued["grant"]["grant_id"].as_str().unwrap().to_string();
    let token = issued["grant"]["token"].as_str().unwrap().to_string();
    let a = send(
        &app,
        "GET",
        &format!("/v1/grants/{grant_id}"),
        Some(agent),
        None,
    )
    .await;
    assert!(
        check_answer(&doc, "GET", "/v1/grants/{grant_id}", &a)
            .get("token")
            .is_none()
    );
    let a = send(
        &app,
        "POST",
        "/v1/grants/introspect",
        Some(admin),
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/grants/introspect", &a)["active"],
        true
    );
    let a = send(
        &app,
        "POST",
        &format!("/v1/grants/{grant_id}/revoke"),
        Some(admin),
        None,
    )
    .await;
    check_answer(&doc, "POST", "/v1/grants/{grant_id}/revoke", &a);
    let a = send(
        &app,
        "POST",
        "/v1/grants/introspect",
        Some(agent),
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(
        check_answer(&doc, "POST", "/v1/grants/introspect", &a),
        json!({"active": false})
    );

    // Webhooks: call status, an unsigned request.
    let a = app
        .webhook(
            "/webhooks/twilio/status",
            &[
                ("CallSid", &sid),
                ("AccountSid", ACCOUNT_SID),
                ("CallStatus", "completed"),
            ],
        )
        .await;
    assert_eq!(a.status(), StatusCode::NO_CONTENT);
    let a = send(
        &app,
        "POST",
        "/webhooks/twilio/voice",
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    check_answer(&doc, "POST", "/webhooks/twilio/voice", &a);

    // Reviewer: the audit trail.
    let a = send(&app, "GET", "/v1/audit?limit=5", Some(reviewer), None).await;
    assert_eq!(
        check_answer(&doc, "GET", "/v1/audit", &a)["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let a = send(&app, "GET", "/v1/audit/verify", Some(reviewer), None).await;
    assert_eq!(
        check_answer(&doc, "GET", "/v1/audit/verify", &a)["ok"],
        true
    );
    let a = send(
        &app,
        "GET",
        "/v1/audit/export?format=csv",
        Some(reviewer),
        None,
    )
    .await;
    check_answer(&doc, "GET", "/v1/audit/export", &a);

    // Reviewer: checkpoints, proofs and the verifier key.
    let a = send(&app, "POST", "/v1/audit/checkpoints", Some(reviewer), None).await;
    assert!(a.status.is_success(), "{}", a.body);
    let size = check_answer(&doc, "POST", "/v1/audit/checkpoints", &a)["size"]
        .as_u64()
        .unwrap();
    let a = send(&app, "GET", "/v1/audit/checkpoints", Some(reviewer), None).await;
    check_answer(&doc, "GET", "/v1/audit/checkpoints", &a);
    let a = send(
        &app,
        "GET",
        "/v1/audit/checkpoints/latest",
        Some(reviewer),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    check_answer(&doc, "GET", "/v1/audit/checkpoints/latest", &a);
    let a = send(
        &app,
        "GET",
        &format!("/v1/audit/proof/inclusion?seq=1&size={size}"),
        Some(reviewer),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    check_answer(&doc, "GET", "/v1/audit/proof/inclusion", &a);
    let a = send(
        &app,
        "GET",
        "/v1/audit/proof/inclusion?seq=0&size=1",
        Some(reviewer),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    check_answer(&doc, "GET", "/v1/audit/proof/inclusion", &a);
    let a = send(
        &app,
        "GET",
        &format!("/v1/audit/proof/consistency?from=1&to={size}"),
        Some(reviewer),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    check_answer(&doc, "GET", "/v1/audit/proof/consistency", &a);
    let a = send(&app, "GET", "/v1/audit/public-key", Some(reviewer), None).await;
    assert_eq!(a.status, StatusCode::OK);
    check_answer(&doc, "GET", "/v1/audit/public-key", &a);

    // Errors: unknown resource, wrong role, no token, unknown query parameter.
    let a = send(
        &app,
        "GET",
        "/v1/calls/call_00000000000000000000000000000000",
        Some(agent),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    check_answer(&doc, "GET", "/v1/calls/{call_id}", &a);
    let a = send(&app, "GET", "/v1/audit", Some(agent), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    check_answer(&doc, "GET", "/v1/audit", &a);
    let a = send(
        &app,
        "POST",
        &format!("/v1/calls/{call_id}/challenges"),
        None,
        Some(json!({"channel": "sms"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    check_answer(&doc, "POST", "/v1/calls/{call_id}/challenges", &a);
    let a = send(&app, "GET", "/v1/calls?sort=asc", Some(agent), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    check_answer(&doc, "GET", "/v1/calls", &a);
    let a = send(&app, "GET", "/v1/orgs?limit=0", Some(admin), None).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    check_answer(&doc, "GET", "/v1/orgs", &a);

    app.shutdown().await;
}
on_both_engines!(
    openapi_live_answers_fit_the_document,
    live_answers_fit_the_document
);
