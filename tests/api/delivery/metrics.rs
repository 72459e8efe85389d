//! The delivery metrics.

use reqwest::StatusCode;

use crate::on_both_engines;
use crate::support::app::{Engine, TestApp};

use super::{WAIT, contoso_call, delivery_reaches, options};

async fn metrics_count_messages_by_channel_and_outcome(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, options(|_| {})).await else {
        return;
    };
    app.import_contoso().await;
    app.smtp.fail_next(1, 451, "4.3.0 try again later");
    let call_id = contoso_call(&app).await;
    let challenge_id = app.challenge(&call_id, "email").await;
    app.smtp.wait_for(1, WAIT).await;
    delivery_reaches(&app, &call_id, &challenge_id, 0, "sent").await;

    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    for needle in [
        r#"pingate_messages_total{channel="email",outcome="sent"}"#,
        r#"pingate_messages_total{channel="email",outcome="retry"}"#,
        "pingate_outbox_queued ",
        "pingate_outbox_oldest_age_seconds ",
        "pingate_message_attempts",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from /metrics:\n{text}"
        );
    }
    // A gauge is process-wide and other tests' servers set it too: only
    // its form is checked here.
    let queued = text
        .lines()
        .find_map(|l| l.strip_prefix("pingate_outbox_queued "))
        .unwrap();
    assert!(queued.trim().parse::<f64>().is_ok(), "{queued}");
    app.shutdown().await;
}
on_both_engines!(
    metrics_count_messages_by_channel_and_outcome,
    metrics_count_messages_by_channel_and_outcome
);
