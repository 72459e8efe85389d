//! Issue 8 item 5 in the console: acting on a call another agent handles
//! shows the refusal next to the control and a Take over button, which
//! calls the same service as `POST /v1/calls/{id}/take`.

use reqwest::StatusCode;
use secrecy::ExposeSecret;

use super::client::Console;
use crate::errors::audit_events;
use crate::on_both_engines;
use crate::support::app::{Engine, TestApp, wrong_pin};
use pingate::store::principals::Role;

async fn a_refused_action_offers_take_over_in_the_console(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let (call_id, ch, pin) = app.pending_pin(1).await;
    let bob = pingate::service::principals::add(app.state(), "test", "bob", Role::Agent)
        .await
        .expect("second agent")
        .expose_secret()
        .to_string();
    let c = Console::sign_in(&app, &bob).await;
    let page = c.get(&format!("/console/calls/{call_id}")).await;
    assert!(
        page.body.contains("id=\"call-handler\">alice<"),
        "{}",
        page.body
    );

    let check = format!("/console/challenges/{ch}/check");
    let page = c.post(&check, &[("pin", wrong_pin(&pin))]).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(
        page.body
            .contains("alice is handling this call. Take it over to act on it."),
        "{}",
        page.body
    );
    let take = format!("action=\"/console/calls/{call_id}/take\"");
    assert!(page.body.contains(&take), "{}", page.body);
    assert!(page.body.contains(">Take over<"), "{}", page.body);
    let (_, r) = app.get(&bob, &format!("/v1/challenges/{ch}")).await;
    assert_eq!(
        r["attempts_left"], 5,
        "the refused check spent nothing: {r}"
    );

    let page = c.act(&format!("/console/calls/{call_id}/take"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("You now handle this call."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("id=\"call-handler\">you<"),
        "{}",
        page.body
    );
    assert_eq!(audit_events(&app, "call_taken").await.len(), 1);
    let page = c.act(&check, &[("pin", &pin)]).await;
    assert!(
        page.body.contains("Verified: access granted."),
        "{}",
        page.body
    );
    app.shutdown().await;
}
on_both_engines!(
    a_refused_action_offers_take_over_in_the_console,
    a_refused_action_offers_take_over_in_the_console
);
