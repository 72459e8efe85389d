//! Errors and security: every operation documents its problems, roles and
//! security requirements match the route guards, webhooks document their
//! signature, and the secret handling rules are stated.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::routes::served_routes;
use super::{deref, document, effective_security, operations, reaches_problem};

/// Routes that have no error of their own to document.
const NO_PROBLEM_NEEDED: [&str; 3] = ["/healthz", "/metrics", "/openapi.json"];
/// Routes whose only error is a server-side one (readiness: 503).
const SERVER_PROBLEM_ONLY: [&str; 1] = ["/readyz"];
const BEARER: &str = "bearerAuth";
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
        if !path.starts_with("/webhooks/twilio/") {
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

/// A provider's four webhooks: both signature headers required, 403 and
/// 503 documented, and the call routes answering the provider's markup.
fn assert_provider_webhooks(prefix: &str, headers: [&str; 2], markup: (&str, [&str; 2])) {
    let doc = document();
    let ops: Vec<_> = operations(&doc)
        .into_iter()
        .filter(|(_, path, _)| path.starts_with(prefix))
        .collect();
    assert_eq!(ops.len(), 4, "{prefix}: four webhooks");
    for (method, path, op) in ops {
        for name in headers {
            let header = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| deref(&doc, p))
                .find(|p| p["in"] == "header" && p["name"] == name);
            assert!(
                header.is_some_and(|h| h["required"] == true),
                "{method} {path}: {name} header"
            );
        }
        for status in ["403", "503"] {
            assert!(
                op["responses"].get(status).is_some(),
                "{method} {path}: {status}"
            );
        }
    }
    let (media_type, paths) = markup;
    for path in paths {
        let ok = &doc["paths"][path]["post"]["responses"]["200"]["content"];
        assert!(
            ok.as_object()
                .is_some_and(|c| c.keys().any(|k| k.starts_with(media_type))),
            "{path}: {media_type} answer"
        );
    }
}

#[test]
fn openapi_telnyx_webhooks_document_both_headers_texml_and_refusals() {
    assert_provider_webhooks(
        "/webhooks/telnyx/",
        ["telnyx-signature-ed25519", "telnyx-timestamp"],
        (
            "text/xml",
            ["/webhooks/telnyx/voice", "/webhooks/telnyx/gather"],
        ),
    );
}

#[test]
fn openapi_plivo_webhooks_document_signature_nonce_xml_and_refusals() {
    assert_provider_webhooks(
        "/webhooks/plivo/",
        ["X-Plivo-Signature-V3", "X-Plivo-Signature-V3-Nonce"],
        (
            "application/xml",
            ["/webhooks/plivo/answer", "/webhooks/plivo/input"],
        ),
    );
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
