//! Roles are enforced per route: every API route against every kind of
//! credential, denials audited; the challenge API takes no destination; an
//! agent's grant is revoked only by that agent or an admin.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::errors::{audit_events, expect_problem, pin_required_call, without_delivery};
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, call_sid};
use pingate::store::principals::Role;

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

struct Route {
    method: Method,
    /// The route as the router (and /openapi.json) names it.
    template: &'static str,
    path: String,
    body: Option<Value>,
    allowed: &'static [Role],
}

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

struct Fixture {
    call_id: String,
    challenge_id: String,
    grant_id: String,
    grant_token: String,
}

/// A pin-required call with a pending challenge and a trusted call with a
/// grant, both by alice.
async fn fixture(app: &TestApp) -> Fixture {
    app.import_contoso().await;
    let call_id = pin_required_call(app).await;
    let (status, ch) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{call_id}/challenges"),
            json!({ "channel": "email" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let sid = call_sid();
    app.call(&sid, "+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let trusted = app.call_id_for(&sid).await;
    let (status, g) = app
        .post(
            &app.agent_token,
            &format!("/v1/calls/{trusted}/grant"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    Fixture {
        call_id,
        challenge_id: ch["challenge_id"].as_str().unwrap().to_string(),
        grant_id: g["grant"]["grant_id"].as_str().unwrap().to_string(),
        grant_token: g["grant"]["token"].as_str().unwrap().to_string(),
    }
}

/// Every API route, destructive ones last.
fn routes(f: &Fixture) -> Vec<Route> {
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
async fn documented_api_routes(app: &TestApp) -> Vec<(String, String)> {
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
                    assert!(
                        status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                        "{what}: {status} {}",
                        resp.text().await.unwrap_or_default()
                    );
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

async fn challenge_destination_comes_from_the_profile_only(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = pin_required_call(&app).await;
    let path = format!("/v1/calls/{call_id}/challenges");
    let attacker = [
        ("destination", json!("attacker@evil.example")),
        ("to", json!("+15550000666")),
        ("email", json!("attacker@evil.example")),
        ("phone", json!("+15550000666")),
        ("destination", json!("it-admin@contoso.example")),
        ("contacts", json!({ "email": "attacker@evil.example" })),
    ];
    for channel in ["email", "sms"] {
        for (field, value) in &attacker {
            let mut body = json!({ "channel": channel });
            body[*field] = value.clone();
            let resp = app
                .client
                .post(app.url(&path))
                .bearer_auth(&app.agent_token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{body}: {status}"
            );
            expect_problem(resp, status).await;
        }
    }
    // Nothing was created, so nothing is queued.
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["challenges"], json!([]), "{call}");
    assert!(audit_events(&app, "challenge_created").await.is_empty());
    assert!(audit_events(&app, "message_queued").await.is_empty());

    // The legitimate request goes to the registered contacts, and only
    // these two messages are ever sent.
    let (status, ch) = app
        .post(&app.agent_token, &path, json!({ "channel": "email" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let (status, ch) = app
        .post(&app.agent_token, &path, json!({ "channel": "sms" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let mails = app
        .smtp
        .wait_for(1, std::time::Duration::from_secs(20))
        .await;
    let sms = app
        .sms
        .wait_for(1, std::time::Duration::from_secs(20))
        .await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["it-admin@contoso.example".to_string()]);
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].to, "+14155550199");
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert_eq!(call["challenges"].as_array().unwrap().len(), 2, "{call}");
    app.shutdown().await;
}
on_both_engines!(
    challenge_destination_comes_from_the_profile_only,
    challenge_destination_comes_from_the_profile_only
);

async fn only_the_issuing_agent_or_an_admin_revokes_a_grant(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let f = fixture(&app).await;
    use secrecy::ExposeSecret;
    let bob = pingate::service::principals::add(app.state(), "test", "bob", Role::Agent)
        .await
        .expect("second agent")
        .expose_secret()
        .to_string();

    let resp = app
        .client
        .post(app.url(&format!("/v1/grants/{}/revoke", f.grant_id)))
        .bearer_auth(&bob)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_client_error() && status != StatusCode::NOT_FOUND,
        "{status}"
    );
    expect_problem(resp, status).await;
    let (_, i) = app
        .post(
            &app.agent_token,
            "/v1/grants/introspect",
            json!({ "token": f.grant_token }),
        )
        .await;
    assert_eq!(
        i["active"], true,
        "bob's refused revoke left it active: {i}"
    );
    assert!(audit_events(&app, "grant_revoked").await.is_empty());

    let (status, g) = app
        .post(
            &app.admin_token,
            &format!("/v1/grants/{}/revoke", f.grant_id),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!(g["active"], false, "{g}");
    assert_eq!(g["revoked_by"], "admin:adam", "{g}");
    let (_, i) = app
        .post(
            &bob,
            "/v1/grants/introspect",
            json!({ "token": f.grant_token }),
        )
        .await;
    assert_eq!(i, json!({ "active": false }));
    let revoked = audit_events(&app, "grant_revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["actor"], "admin:adam");
    assert_eq!(revoked[0]["grant_id"], f.grant_id.as_str());
    app.shutdown().await;
}
on_both_engines!(
    only_the_issuing_agent_or_an_admin_revokes_a_grant,
    only_the_issuing_agent_or_an_admin_revokes_a_grant
);
