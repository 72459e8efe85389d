//! Roles are enforced per route: every API route against every kind of
//! credential, denials audited; the challenge API takes no destination; an
//! agent's grant is revoked only by that agent or an admin.

mod enforcement;
mod ownership;
mod table;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::errors::pin_required_call;
use crate::support::app::TestApp;
use pingate::store::principals::Role;

struct Route {
    method: Method,
    /// The route as the router (and /openapi.json) names it.
    template: &'static str,
    path: String,
    body: Option<Value>,
    allowed: &'static [Role],
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
    let challenge_id = app.challenge(&call_id, "email").await;
    let trusted = app
        .new_call("+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    let (status, g) = app.grant(&trusted).await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    Fixture {
        call_id,
        challenge_id,
        grant_id: g["grant"]["grant_id"].as_str().unwrap().to_string(),
        grant_token: g["grant"]["token"].as_str().unwrap().to_string(),
    }
}
