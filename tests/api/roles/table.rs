//! The table of every API route with the roles it admits, checked against
//! the routes /openapi.json documents.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::TestApp;
use pingate::store::principals::Role;

use super::{Fixture, Route};

const AGENT: &[Role] = &[Role::Agent];
const REVIEWER: &[Role] = &[Role::Reviewer];
const ADMIN: &[Role] = &[Role::Admin];
const AGENT_OR_ADMIN: &[Role] = &[Role::Agent, Role::Admin];

fn route(
    method: Method,
    template: &'static str,
    path: String,
    body: Option<Value>,
    allowed: &'static [Role],
) -> Route {
    Route {
        method,
        template,
        path,
        body,
        allowed,
    }
}

/// Every API route, destructive ones last.
pub(super) fn routes(f: &Fixture) -> Vec<Route> {
    let (c, ch, g) = (&f.call_id, &f.challenge_id, &f.grant_id);
    let org = json!({
        "id": "northwind",
        "name": "Northwind Traders",
        "account_number": "60012345",
        "registered_numbers": ["+14155550160"],
        "channels": ["email"],
        "contacts": { "email": "it@northwind.example" }
    });
    vec![
        // Agent
        route(
            Method::GET,
            "/v1/calls",
            "/v1/calls?status=active".into(),
            None,
            AGENT,
        ),
        route(
            Method::GET,
            "/v1/calls/{call_id}",
            format!("/v1/calls/{c}"),
            None,
            AGENT,
        ),
        route(
            Method::POST,
            "/v1/calls/{call_id}/org",
            format!("/v1/calls/{c}/org"),
            Some(json!({ "org_id": "contoso" })),
            AGENT,
        ),
        route(
            Method::POST,
            "/v1/calls/{call_id}/grant",
            format!("/v1/calls/{c}/grant"),
            Some(json!({})),
            AGENT,
        ),
        // The fixture's agent handles the call already: nothing changes.
        route(
            Method::POST,
            "/v1/calls/{call_id}/take",
            format!("/v1/calls/{c}/take"),
            Some(json!({})),
            AGENT,
        ),
        route(
            Method::GET,
            "/v1/challenges/{challenge_id}",
            format!("/v1/challenges/{ch}"),
            None,
            AGENT,
        ),
        route(
            Method::POST,
            "/v1/challenges/{challenge_id}/resend",
            format!("/v1/challenges/{ch}/resend"),
            Some(json!({})),
            AGENT,
        ),
        route(
            Method::POST,
            "/v1/challenges/{challenge_id}/check",
            format!("/v1/challenges/{ch}/check"),
            Some(json!({ "pin": "000000" })),
            AGENT,
        ),
        // After the check, before a new challenge supersedes this one.
        route(
            Method::POST,
            "/v1/challenges/{challenge_id}/cancel",
            format!("/v1/challenges/{ch}/cancel"),
            Some(json!({})),
            AGENT,
        ),
        route(
            Method::POST,
            "/v1/calls/{call_id}/challenges",
            format!("/v1/calls/{c}/challenges"),
            Some(json!({ "channel": "email" })),
            AGENT,
        ),
        // Grants
        route(
            Method::GET,
            "/v1/grants/{grant_id}",
            format!("/v1/grants/{g}"),
            None,
            AGENT_OR_ADMIN,
        ),
        route(
            Method::POST,
            "/v1/grants/introspect",
            "/v1/grants/introspect".into(),
            Some(json!({ "token": f.grant_token })),
            AGENT_OR_ADMIN,
        ),
        route(
            Method::POST,
            "/v1/grants/{grant_id}/revoke",
            format!("/v1/grants/{g}/revoke"),
            Some(json!({})),
            AGENT_OR_ADMIN,
        ),
        // Reviewer
        route(Method::GET, "/v1/audit", "/v1/audit".into(), None, REVIEWER),
        route(
            Method::GET,
            "/v1/audit",
            "/v1/audit?kind=grant_issued".into(),
            None,
            REVIEWER,
        ),
        route(
            Method::GET,
            "/v1/audit/export",
            "/v1/audit/export?format=jsonl".into(),
            None,
            REVIEWER,
        ),
        route(
            Method::GET,
            "/v1/audit/export",
            "/v1/audit/export?format=csv".into(),
            None,
            REVIEWER,
        ),
        route(
            Method::GET,
            "/v1/audit/verify",
            "/v1/audit/verify".into(),
            None,
            REVIEWER,
        ),
        route(
            Method::POST,
            "/v1/audit/checkpoints",
            "/v1/audit/checkpoints".into(),
            None,
            REVIEWER,
        ),
        route(
            Method::GET,
            "/v1/audit/checkpoints",
            "/v1/audit/checkpoints".into(),
            None,
            REVIEWER,
        ),
        route(
            Method::GET,
            "/v1/audit/checkpoints/latest",
            "/v1/audit/checkpoints/latest".into(),
            None,
            REVIEWER,
        ),
        route(
            Method::GET,
            "/v1/audit/proof/inclusion",
            "/v1/audit/proof/inclusion?seq=1&size=2".into(),
            None,
            REVIEWER,
        ),
        route(
            Method::GET,
            "/v1/audit/proof/consistency",
            "/v1/audit/proof/consistency?from=1&to=2".into(),
            None,
            REVIEWER,
        ),
        route(
            Method::GET,
            "/v1/audit/public-key",
            "/v1/audit/public-key".into(),
            None,
            REVIEWER,
        ),
        // Admin
        route(
            Method::GET,
            "/v1/lockouts",
            "/v1/lockouts".into(),
            None,
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/lockouts/reset",
            "/v1/lockouts/reset".into(),
            Some(json!({ "org_id": "contoso" })),
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/orgs/{org_id}/override",
            "/v1/orgs/contoso/override".into(),
            Some(json!({ "reason": "verified by the account manager", "minutes": 15 })),
            ADMIN,
        ),
        route(
            Method::GET,
            "/v1/principals",
            "/v1/principals".into(),
            None,
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/principals",
            "/v1/principals".into(),
            Some(json!({ "name": "pat", "role": "agent" })),
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/principals/{name}/rotate",
            "/v1/principals/pat/rotate".into(),
            Some(json!({})),
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/principals/{name}/disable",
            "/v1/principals/pat/disable".into(),
            None,
            ADMIN,
        ),
        route(Method::GET, "/v1/orgs", "/v1/orgs".into(), None, ADMIN),
        route(
            Method::POST,
            "/v1/orgs",
            "/v1/orgs".into(),
            Some(org.clone()),
            ADMIN,
        ),
        route(
            Method::GET,
            "/v1/orgs/{org_id}",
            "/v1/orgs/northwind".into(),
            None,
            ADMIN,
        ),
        route(
            Method::PUT,
            "/v1/orgs/{org_id}",
            "/v1/orgs/northwind".into(),
            Some(org),
            ADMIN,
        ),
        route(
            Method::POST,
            "/v1/orgs/{org_id}/numbers",
            "/v1/orgs/northwind/numbers".into(),
            Some(json!({ "number": "+14155550161" })),
            ADMIN,
        ),
        route(
            Method::DELETE,
            "/v1/orgs/{org_id}/numbers/{number}",
            "/v1/orgs/northwind/numbers/%2B14155550161".into(),
            None,
            ADMIN,
        ),
        route(
            Method::DELETE,
            "/v1/orgs/{org_id}",
            "/v1/orgs/northwind".into(),
            None,
            ADMIN,
        ),
    ]
}

/// Every (method, path) of the API that /openapi.json documents, so a
/// route added later without a row here fails this test.
pub(super) async fn documented_api_routes(app: &TestApp) -> Vec<(String, String)> {
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .expect("openapi.json");
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/v1/") {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                routes.push((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    routes
}
