//! Org names that look like template placeholders are refused over the API
//! (the import path is covered by the domain's tests).

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

async fn braces_in_an_org_name_are_refused_over_the_api(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let (status, body) = app
        .post(
            &app.admin_token,
            "/v1/orgs",
            json!({
                "id": "acme", "name": "Acme {pin}", "account_number": "5550001",
                "registered_numbers": [], "channels": ["email"],
                "contacts": {"email": "it@acme.example"}, "language": "en",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "name", "{body}");
    let (status, _) = app.get(&app.admin_token, "/v1/orgs/acme").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was stored");
    app.shutdown().await;
}
on_both_engines!(
    braces_in_an_org_name_are_refused_over_the_api,
    braces_in_an_org_name_are_refused_over_the_api
);
