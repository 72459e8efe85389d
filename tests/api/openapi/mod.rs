//! The OpenAPI document served at `/openapi.json` against the code: it is
//! what the server sends, every `$ref` resolves, it documents exactly the
//! routes the router serves (found by scanning the router sources, so a
//! route added on one side only fails here by name), with the roles each
//! group is guarded by, and live answers carry what it promises.

mod document;
mod errors_and_security;
mod live;
mod routes;
mod schema;

use serde_json::Value;

const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];
const PROBLEM_REF: &str = "#/components/schemas/Problem";

fn document() -> Value {
    serde_json::from_str(pingate::http::openapi::json())
        .expect("the generated document is valid JSON")
}
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
