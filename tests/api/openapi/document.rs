//! The served document is the generated one, every `$ref` resolves, operation ids are
//! unique and path parameters declared.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

use super::{collect_refs, deref, document, operations, resolve_ref};

async fn served_document_is_the_generated_one(engine: Engine, test: &str) {
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
        pingate::http::openapi::json(),
        "GET /openapi.json differs from the generated document"
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
    served_document_is_the_generated_one
);
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
