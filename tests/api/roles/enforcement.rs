//! Every route against every kind of credential: the right roles get in,
//! the wrong ones are refused (and audited) and change nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::errors::{audit_events, expect_problem, without_delivery};
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};
use pingate::store::principals::Role;

use super::table::{documented_api_routes, routes};
use super::{Fixture, Route, fixture};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    None,
    Garbage,
    /// A grant token is a bearer secret too, but not an API credential.
    GrantToken,
    /// An agent's valid token under another scheme.
    BasicScheme,
    Role(Role),
}

const CREDS: &[Cred] = &[
    Cred::None,
    Cred::Garbage,
    Cred::GrantToken,
    Cred::BasicScheme,
    Cred::Role(Role::Agent),
    Cred::Role(Role::Reviewer),
    Cred::Role(Role::Admin),
];

fn token_for(app: &TestApp, f: &Fixture, cred: Cred) -> Option<String> {
    match cred {
        Cred::None => None,
        Cred::Garbage => Some("Bearer pga_this-is-not-a-token".into()),
        Cred::GrantToken => Some(format!("Bearer {}", f.grant_token)),
        Cred::BasicScheme => Some(format!("Basic {}", app.agent_token)),
        Cred::Role(Role::Agent) => Some(format!("Bearer {}", app.agent_token)),
        Cred::Role(Role::Reviewer) => Some(format!("Bearer {}", app.reviewer_token)),
        Cred::Role(Role::Admin) => Some(format!("Bearer {}", app.admin_token)),
    }
}

async fn send(app: &TestApp, r: &Route, authorization: Option<&str>) -> reqwest::Response {
    let mut req = app.client.request(r.method.clone(), app.url(&r.path));
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    if let Some(b) = &r.body {
        req = req.json(b);
    }
    req.send().await.expect("request")
}
async fn every_route_enforces_its_role(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let f = fixture(&app).await;
    let table = routes(&f);
    for (method, path) in documented_api_routes(&app).await {
        assert!(
            table
                .iter()
                .any(|r| r.method.as_str() == method && r.template == path),
            "{method} {path} is documented but missing from this table"
        );
    }
    let (mut unauthenticated, mut forbidden) = (0usize, 0usize);
    let mut forbidden_actors = Vec::new();

    for r in table {
        // Refusals first, so a destructive route is tried while its
        // resource still exists; the allowed role last.
        let mut creds: Vec<Cred> = CREDS.to_vec();
        creds.sort_by_key(|c| matches!(c, Cred::Role(role) if r.allowed.contains(role)));
        for cred in creds {
            let what = format!("{} {} with {cred:?}", r.method, r.path);
            let auth = token_for(&app, &f, cred);
            let resp = send(&app, &r, auth.as_deref()).await;
            let status = resp.status();
            match cred {
                Cred::Role(role) if r.allowed.contains(&role) => {
                    let (expected, problem) = allowed_answer(&r);
                    let body = resp.text().await.unwrap_or_default();
                    assert_eq!(status, expected, "{what}: {body}");
                    if let Some(kind) = problem {
                        let body: serde_json::Value =
                            serde_json::from_str(&body).expect("problem+json");
                        assert_eq!(body["type"], kind, "{what}");
                    }
                }
                Cred::Role(role) => {
                    assert!(!status.is_success(), "{what}: {status}");
                    let challenge = resp.headers().get("www-authenticate").cloned();
                    let body = expect_problem(resp, StatusCode::FORBIDDEN).await;
                    assert_eq!(body["type"], "urn:pingate:problem:forbidden", "{what}");
                    assert!(
                        challenge.is_none(),
                        "{what}: 403 carries no WWW-Authenticate"
                    );
                    forbidden += 1;
                    forbidden_actors.push(format!("{}:", role.as_str()));
                }
                _ => {
                    assert!(!status.is_success(), "{what}: {status}");
                    let challenge = resp
                        .headers()
                        .get("www-authenticate")
                        .map(|v| v.to_str().unwrap().to_string());
                    let body = expect_problem(resp, StatusCode::UNAUTHORIZED).await;
                    assert_eq!(
                        body["type"], "urn:pingate:problem:unauthenticated",
                        "{what}"
                    );
                    let challenge =
                        challenge.unwrap_or_else(|| panic!("{what}: no WWW-Authenticate"));
                    assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
                    unauthenticated += 1;
                }
            }
        }
    }

    let authn = audit_events(&app, "authn_token_fail").await;
    let authz = audit_events(&app, "authz_fail").await;
    assert_eq!(authn.len(), unauthenticated, "every 401 is audited");
    assert_eq!(authz.len(), forbidden, "every 403 is audited");
    for (event, role) in authz.iter().zip(&forbidden_actors) {
        let actor = event["actor"].as_str().unwrap();
        assert!(actor.starts_with(role.as_str()), "{event}");
        assert_eq!(event["outcome"], "failure");
        assert!(
            event["detail"]["path"]
                .as_str()
                .unwrap()
                .starts_with("/v1/"),
            "{event}"
        );
    }
    // The credentials offered never land in the trail.
    let export = app
        .client
        .get(app.url("/v1/audit/export?format=jsonl"))
        .bearer_auth(&app.reviewer_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for secret in [
        "pga_this-is-not-a-token",
        f.grant_token.as_str(),
        app.agent_token.as_str(),
        app.reviewer_token.as_str(),
        app.admin_token.as_str(),
    ] {
        assert!(!export.contains(secret), "a token reached the audit trail");
    }
    app.shutdown().await;
}
on_both_engines!(every_route_enforces_its_role, every_route_enforces_its_role);

async fn wrong_roles_change_nothing(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let f = fixture(&app).await;
    let before = without_delivery(
        app.get(&app.agent_token, &format!("/v1/calls/{}", f.call_id))
            .await
            .1,
    );

    // An agent cannot read the audit trail.
    for path in ["/v1/audit", "/v1/audit/export", "/v1/audit/verify"] {
        let (status, body) = app.get(&app.agent_token, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(body.get("items").is_none(), "{body}");
    }
    // A reviewer cannot issue, resend or check challenges.
    let (status, _) = app
        .post(
            &app.reviewer_token,
            &format!("/v1/calls/{}/challenges", f.call_id),
            json!({ "channel": "sms" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(
            &app.reviewer_token,
            &format!("/v1/challenges/{}/resend", f.challenge_id),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An admin cannot check PINs (not even the right one).
    let pin = app.pin_from_email(1).await;
    for token in [&app.admin_token, &app.reviewer_token] {
        let (status, _) = app
            .post(
                token,
                &format!("/v1/challenges/{}/check", f.challenge_id),
                json!({ "pin": pin }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // A reviewer cannot introspect or revoke grants, nor edit orgs.
    let (status, _) = app
        .post(
            &app.reviewer_token,
            "/v1/grants/introspect",
            json!({ "token": f.grant_token }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(
            &app.reviewer_token,
            &format!("/v1/grants/{}/revoke", f.grant_id),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(
            &app.agent_token,
            "/v1/orgs/contoso/numbers",
            json!({ "number": "+14155550123" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let after = without_delivery(
        app.get(&app.agent_token, &format!("/v1/calls/{}", f.call_id))
            .await
            .1,
    );
    assert_eq!(before, after, "a refused request changed the call");
    assert_eq!(after["challenges"].as_array().unwrap().len(), 1);
    assert_eq!(
        after["challenges"][0]["attempts_left"],
        app.settings.pin.max_attempts
    );
    assert_eq!(after["challenges"][0]["sends"], 1);
    let (_, i) = app
        .post(
            &app.agent_token,
            "/v1/grants/introspect",
            json!({ "token": f.grant_token }),
        )
        .await;
    assert_eq!(i["active"], true, "{i}");
    let (_, org) = app.get(&app.admin_token, "/v1/orgs/contoso").await;
    assert!(!org.to_string().contains("+14155550123"), "{org}");

    // The agent's right PIN still approves: nothing above spent an attempt.
    let (status, r) = app
        .post(
            &app.agent_token,
            &format!("/v1/challenges/{}/check", f.challenge_id),
            json!({ "pin": pin }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved", "{r}");
    app.shutdown().await;
}
on_both_engines!(wrong_roles_change_nothing, wrong_roles_change_nothing);

/// What an allowed role gets from a route with the fixture's state: the
/// documented success, or (the trusted grant on a PIN-required call) the
/// documented refusal with its type. A route missing here fails the test,
/// so every new route states what success looks like.
fn allowed_answer(r: &Route) -> (StatusCode, Option<&'static str>) {
    match (r.method.as_str(), r.template) {
        ("POST", "/v1/calls/{call_id}/grant") => (
            StatusCode::CONFLICT,
            Some("urn:pingate:problem:not-trusted"),
        ),
        ("POST", "/v1/calls/{call_id}/challenges")
        | ("POST", "/v1/audit/checkpoints")
        | ("POST", "/v1/orgs")
        | ("POST", "/v1/orgs/{org_id}/override")
        | ("POST", "/v1/principals") => (StatusCode::CREATED, None),
        ("DELETE", "/v1/orgs/{org_id}") => (StatusCode::NO_CONTENT, None),
        (
            "GET",
            "/v1/calls"
            | "/v1/calls/{call_id}"
            | "/v1/challenges/{challenge_id}"
            | "/v1/grants/{grant_id}"
            | "/v1/audit"
            | "/v1/audit/export"
            | "/v1/audit/verify"
            | "/v1/audit/checkpoints"
            | "/v1/audit/checkpoints/latest"
            | "/v1/audit/proof/inclusion"
            | "/v1/audit/proof/consistency"
            | "/v1/audit/public-key"
            | "/v1/lockouts"
            | "/v1/orgs"
            | "/v1/orgs/{org_id}"
            | "/v1/principals",
        )
        | (
            "POST",
            "/v1/calls/{call_id}/org"
            | "/v1/calls/{call_id}/take"
            | "/v1/challenges/{challenge_id}/resend"
            | "/v1/challenges/{challenge_id}/check"
            | "/v1/challenges/{challenge_id}/cancel"
            | "/v1/grants/introspect"
            | "/v1/grants/{grant_id}/revoke"
            | "/v1/lockouts/reset"
            | "/v1/orgs/{org_id}/numbers"
            | "/v1/principals/{name}/rotate"
            | "/v1/principals/{name}/disable",
        )
        | ("PUT", "/v1/orgs/{org_id}")
        | ("DELETE", "/v1/orgs/{org_id}/numbers/{number}") => (StatusCode::OK, None),
        (method, template) => {
            panic!("{method} {template}: say in allowed_answer what an allowed role gets")
        }
    }
}
