//! The console's leak canary: a whole verification through the console,
//! then every page each role can open and the live stream, searched for
//! the PIN, the access and session tokens, the pepper and the org's full
//! contacts; the process's log lines for the secrets.

use std::time::Duration;

use reqwest::header::COOKIE;

use super::client::{Console, challenge_id};
use crate::support::app::{Engine, Options, PEPPER, TestApp, wrong_pin};
use crate::support::logs;

/// Everything the call's live stream sends for a few seconds.
fn collect_stream(mut stream: reqwest::Response) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut all = Vec::new();
        let until = tokio::time::Instant::now() + Duration::from_secs(6);
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, stream.chunk()).await {
            all.extend_from_slice(&chunk);
        }
        String::from_utf8(all).expect("UTF-8 stream")
    })
}

/// The agent's pages through a whole verification; returns them with the
/// PIN and a mistyped PIN (one digit short) that was submitted.
async fn agent_pages(
    app: &TestApp,
    agent: &Console,
    call_id: &str,
) -> (Vec<String>, String, String) {
    let call_page = format!("/console/calls/{call_id}");
    let mut pages = vec![
        agent
            .act(&format!("{call_page}/org"), &[("org", "contoso")])
            .await
            .body,
    ];
    pages.push(
        agent
            .act(&format!("{call_page}/challenges"), &[("channel", "email")])
            .await
            .body,
    );
    let chl = challenge_id(pages.last().unwrap()).expect("challenge");
    let check = format!("/console/challenges/{chl}/check");
    let pin = app.pin_from_email(1).await;
    let short = pin[..9].to_string();
    pages.push(agent.post(&check, &[("pin", short.as_str())]).await.body);
    pages.push(agent.act(&check, &[("pin", wrong_pin(&pin))]).await.body);
    pages.push(
        agent
            .act(&format!("/console/challenges/{chl}/resend"), &[])
            .await
            .body,
    );
    pages.push(agent.act(&check, &[("pin", pin.as_str())]).await.body);
    pages.push(agent.get("/console/calls").await.body);
    pages.push(agent.get(&call_page).await.body);
    (pages, pin, short)
}

/// Every page a reviewer and an administrator open, and the sign-in page.
async fn other_pages(reviewer: &Console, admin: &Console, base: &str) -> Vec<String> {
    let audit = reviewer.get("/console/audit").await.body;
    let mut pages = Vec::new();
    for seq in 1..=audit.matches("/console/audit/events/").count() {
        pages.push(
            reviewer
                .get(&format!("/console/audit/events/{seq}"))
                .await
                .body,
        );
    }
    pages.push(audit);
    pages.push(reviewer.get("/console/audit/verify").await.body);
    for p in [
        "/console/orgs",
        "/console/orgs/contoso",
        "/console/principals",
    ] {
        pages.push(admin.get(p).await.body);
    }
    pages.push(
        reqwest::get(format!("{base}/console/login"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    pages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_console_page_stream_or_log_line_shows_a_pin_token_pepper_or_full_contact() {
    // Ten digits: a PIN that cannot turn up by chance in an id or a time.
    let opts = Options {
        tweak: Box::new(|s| s.pin.length = 10),
        ..Options::default()
    };
    let app = TestApp::spawn_with(Engine::Sqlite, "console leaks", opts)
        .await
        .unwrap();
    app.import_contoso().await;
    let call_id = app.new_call("+14155550123", None).await;
    let agent = Console::sign_in(&app, &app.agent_token).await;
    let stream = reqwest::Client::new()
        .get(app.url(&format!("/console/calls/{call_id}/live")))
        .header(COOKIE, &agent.cookie)
        .send()
        .await
        .unwrap();
    let collected = collect_stream(stream);
    let (mut pages, pin, short) = agent_pages(&app, &agent, &call_id).await;
    let reviewer = Console::sign_in(&app, &app.reviewer_token).await;
    let admin = Console::sign_in(&app, &app.admin_token).await;
    pages.extend(other_pages(&reviewer, &admin, &app.base).await);
    assert!(
        pages.len() > 20,
        "the audit pages were opened: {}",
        pages.len()
    );
    let stream = collected.await.unwrap();
    assert!(
        stream.contains("event: update"),
        "the stream sent updates: {stream}"
    );

    let mut secrets = vec![
        ("PIN", pin),
        ("mistyped PIN", short),
        ("agent token", app.agent_token.clone()),
        ("reviewer token", app.reviewer_token.clone()),
        ("admin token", app.admin_token.clone()),
        ("pepper", PEPPER.to_string()),
    ];
    for (who, c) in [
        ("agent session", &agent),
        ("reviewer session", &reviewer),
        ("admin session", &admin),
    ] {
        secrets.push((
            who,
            c.cookie.trim_start_matches("pingate_session=").to_string(),
        ));
    }
    let contacts = [
        ("contact email", "it-admin@contoso.example"),
        ("contact number", "+14155550199"),
    ];
    let shown = pages
        .iter()
        .map(|p| ("page", p.as_str()))
        .chain([("stream", stream.as_str())]);
    for (place, text) in shown {
        for (name, secret) in secrets
            .iter()
            .map(|(n, s)| (*n, s.as_str()))
            .chain(contacts)
        {
            assert!(
                !text.contains(secret),
                "{name} in a console {place}: {text}"
            );
        }
    }
    assert!(logs::is_capturing(), "the log capture is not installed");
    let log = String::from_utf8_lossy(&logs::captured()).to_string();
    for (name, secret) in &secrets {
        assert!(!log.contains(secret.as_str()), "{name} in a log line");
    }
    app.shutdown().await;
}
