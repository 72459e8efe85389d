//! Sign-in, cookies, session expiry and sign-out, CSRF refusals, security
//! headers and role refusals.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::COOKIE;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::client::{Console, no_redirects, set_cookies, submit_login};
use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp};

async fn session_hashes(app: &TestApp) -> Vec<Vec<u8>> {
    sqlx::query("SELECT token_hash FROM console_sessions")
        .fetch_all(app.state().store.reader())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<Vec<u8>, _>(0).unwrap())
        .collect()
}

async fn sign_in_gives_a_strict_http_only_cookie_whose_token_is_stored_hashed(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let c = Console::sign_in(&app, &app.agent_token).await;
    let attrs: Vec<&str> = c.set_cookie.split(';').map(str::trim).collect();
    assert!(attrs.contains(&"HttpOnly"), "{}", c.set_cookie);
    assert!(attrs.contains(&"SameSite=Strict"), "{}", c.set_cookie);
    assert!(attrs.contains(&"Path=/console"), "{}", c.set_cookie);
    assert!(
        !attrs.contains(&"Secure"),
        "plain http base: no Secure ({})",
        c.set_cookie
    );
    let token = c.cookie.trim_start_matches("pingate_session=");
    let stored = session_hashes(&app).await;
    assert_eq!(stored, vec![Sha256::digest(token.as_bytes()).to_vec()]);
    assert!(
        app.events("console_signed_in")
            .await
            .iter()
            .any(|e| e["actor"] == "agent:alice")
    );
    app.shutdown().await;
}
on_both_engines!(
    sign_in_cookie,
    sign_in_gives_a_strict_http_only_cookie_whose_token_is_stored_hashed
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_secure_when_the_public_base_url_is_https() {
    let opts = Options {
        tweak: Box::new(|s| s.server.public_base_url = "https://pingate.example".into()),
        ..Options::default()
    };
    let app = TestApp::spawn_with(Engine::Sqlite, "secure cookie", opts)
        .await
        .unwrap();
    let c = Console::sign_in(&app, &app.agent_token).await;
    assert!(
        c.set_cookie.split(';').any(|a| a.trim() == "Secure"),
        "{}",
        c.set_cookie
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_audited_and_never_echoed() {
    let app = TestApp::spawn(Engine::Sqlite, "wrong token").await.unwrap();
    let wrong = "pga_this-is-not-a-token-0123456789";
    let resp = submit_login(&app.base, &no_redirects(), wrong).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        set_cookies(resp.headers())
            .iter()
            .all(|c| !c.starts_with("pingate_session="))
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("That access token is not valid"), "{html}");
    assert!(!html.contains(wrong), "the token is echoed");
    let fails = app.events("authn_token_fail").await;
    assert!(
        fails
            .iter()
            .any(|e| e["detail"]["path"] == "/console/login"),
        "{fails:?}"
    );
    assert!(session_hashes(&app).await.is_empty());
    app.shutdown().await;
}

async fn sign_in_attempts_are_limited_per_address_and_audited_once(engine: Engine, test: &str) {
    let opts = Options {
        tweak: Box::new(|s| s.console.sign_in_attempts = 3),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    let client = no_redirects();
    for _ in 0..3 {
        let r = submit_login(&app.base, &client, "pga_wrong").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..3 {
        // Even the right token: the limit is no oracle.
        let r = submit_login(&app.base, &client, &app.agent_token).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"));
    }
    let limited = app.events("excess_rate_limit_exceeded").await;
    let signin: Vec<_> = limited
        .iter()
        .filter(|e| e["detail"]["quota"] == "console_sign_in")
        .collect();
    assert_eq!(signin.len(), 1, "{limited:?}");
    app.shutdown().await;
}
on_both_engines!(
    sign_in_limit,
    sign_in_attempts_are_limited_per_address_and_audited_once
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_after_the_idle_timeout_and_after_the_absolute_expiry() {
    let app = TestApp::spawn(Engine::Sqlite, "session expiry")
        .await
        .unwrap();
    let idle = app.settings.console.idle_timeout.0;
    let c = Console::sign_in(&app, &app.agent_token).await;
    app.clock.advance(idle - Duration::from_secs(5));
    assert_eq!(
        c.get("/console/calls").await.status,
        StatusCode::OK,
        "used within the idle timeout"
    );
    app.clock.advance(idle - Duration::from_secs(5));
    assert_eq!(
        c.get("/console/calls").await.status,
        StatusCode::OK,
        "each use restarts the idle timeout"
    );
    app.clock.advance(idle + Duration::from_secs(1));
    let p = c.get("/console/calls").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "idle too long");
    assert_eq!(p.headers["location"], "/console/login");

    // Busy all along, the session still ends at the absolute expiry.
    let c = Console::sign_in(&app, &app.agent_token).await;
    let absolute = app.settings.console.absolute_timeout.0;
    let step = idle / 2;
    let mut used = Duration::ZERO;
    while used + step < absolute {
        app.clock.advance(step);
        used += step;
        assert_eq!(c.get("/console/calls").await.status, StatusCode::OK);
    }
    app.clock.advance(absolute - used + Duration::from_secs(1));
    assert_eq!(
        c.get("/console/calls").await.status,
        StatusCode::SEE_OTHER,
        "past the absolute expiry"
    );
    app.shutdown().await;
}

async fn sign_out_ends_the_session_on_every_instance(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    let other = super::live::second_instance(&app).await;
    let c = Console::sign_in(&app, &app.agent_token).await;
    let on_other = Console {
        base: other.base.clone(),
        client: no_redirects(),
        cookie: c.cookie.clone(),
        set_cookie: String::new(),
        csrf: c.csrf.clone(),
    };
    assert_eq!(
        on_other.get("/console/calls").await.status,
        StatusCode::OK,
        "one session, any instance"
    );
    let out = c.post("/console/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        set_cookies(&out.headers)
            .iter()
            .any(|s| s.starts_with("pingate_session=;") && s.contains("Max-Age=0"))
    );
    assert_eq!(
        on_other.get("/console/calls").await.status,
        StatusCode::SEE_OTHER,
        "signed out there too"
    );
    assert_eq!(c.get("/console/calls").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.events("console_signed_out").await.len(), 1);
    other.stop().await;
    app.shutdown().await;
}
on_both_engines!(
    sign_out_everywhere,
    sign_out_ends_the_session_on_every_instance
);

async fn state_changes_without_the_right_csrf_token_are_refused_and_change_nothing(
    engine: Engine,
    test: &str,
) {
    let Some(app) = TestApp::spawn(engine, test).await else {
        return;
    };
    app.import_contoso().await;
    let call_id = app.new_call("+14155550123", None).await;
    let c = Console::sign_in(&app, &app.agent_token).await;
    let path = format!("/console/calls/{call_id}/org");
    let missing = c.post_raw(&path, &[("org", "40012345")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = c
        .post_raw(&path, &[("csrf", "00ff"), ("org", "40012345")])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Another session's token is not this session's.
    let other = Console::sign_in(&app, &app.agent_token).await;
    let borrowed = c
        .post_raw(&path, &[("csrf", other.csrf.as_str()), ("org", "40012345")])
        .await;
    assert_eq!(borrowed.status, StatusCode::FORBIDDEN);
    // A page of another site, even with the token.
    let cross = c
        .client
        .post(format!("{}{path}", c.base))
        .header(COOKIE, &c.cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", c.csrf.as_str()), ("org", "40012345")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert!(call["org_id"].is_null(), "nothing changed: {call}");
    // Sign-out is a state change too.
    assert_eq!(
        c.post_raw("/console/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get("/console/calls").await.status,
        StatusCode::OK,
        "still signed in"
    );
    // And the sign-in form without its nonce.
    let r = no_redirects()
        .post(app.url("/console/login"))
        .form(&[("access_token", app.agent_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.shutdown().await;
}
on_both_engines!(
    csrf_refusals,
    state_changes_without_the_right_csrf_token_are_refused_and_change_nothing
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_forbid_inline_script_framing_and_referrers() {
    let app = TestApp::spawn(Engine::Sqlite, "console headers")
        .await
        .unwrap();
    let c = Console::sign_in(&app, &app.agent_token).await;
    let login = no_redirects()
        .get(app.url("/console/login"))
        .send()
        .await
        .unwrap();
    for (what, h) in [
        ("login", login.headers().clone()),
        ("calls", c.get("/console/calls").await.headers),
        ("script", c.get("/console/assets/console.js").await.headers),
    ] {
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{what}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
    }
    let page = c.get("/console/calls").await.body;
    assert!(
        !page.contains("<script>") && !page.contains(" onclick=") && !page.contains(" style="),
        "inline script or style: {page}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_opens_only_its_pages_and_refusals_are_audited() {
    let app = TestApp::spawn(Engine::Sqlite, "console roles")
        .await
        .unwrap();
    app.import_contoso().await;
    let call_id = app.new_call("+14155550123", None).await;
    let agent = Console::sign_in(&app, &app.agent_token).await;
    let reviewer = Console::sign_in(&app, &app.reviewer_token).await;
    let admin = Console::sign_in(&app, &app.admin_token).await;
    assert_eq!(
        agent.get("/console/audit").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        agent.get("/console/orgs").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reviewer.get("/console/calls").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.get("/console/audit").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(reviewer.get("/console/audit").await.status, StatusCode::OK);
    assert_eq!(admin.get("/console/orgs").await.status, StatusCode::OK);
    assert_eq!(
        admin.get("/console/principals").await.status,
        StatusCode::OK
    );
    // A reviewer cannot send PINs, whatever form it posts.
    let attach = reviewer
        .post(
            &format!("/console/calls/{call_id}/org"),
            &[("org", "contoso")],
        )
        .await;
    assert_eq!(attach.status, StatusCode::FORBIDDEN);
    let send = reviewer
        .post(
            &format!("/console/calls/{call_id}/challenges"),
            &[("channel", "email")],
        )
        .await;
    assert_eq!(send.status, StatusCode::FORBIDDEN);
    let (_, call) = app
        .get(&app.agent_token, &format!("/v1/calls/{call_id}"))
        .await;
    assert!(
        call["org_id"].is_null() && call["challenges"].as_array().unwrap().is_empty(),
        "{call}"
    );
    let denials = app.events("authz_fail").await;
    assert!(
        denials
            .iter()
            .any(|e| e["actor"] == "agent:alice" && e["detail"]["path"] == "/console/audit"),
        "{denials:?}"
    );
    assert!(
        denials.iter().any(|e| e["actor"] == "reviewer:rita"
            && e["detail"]["path"]
                .as_str()
                .unwrap()
                .ends_with("/challenges")),
        "{denials:?}"
    );
    app.shutdown().await;
}

/// Behind a trusted proxy each client has its own sign-in budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_sign_in_limit_counts_each_client_apart() {
    let opts = Options {
        tweak: Box::new(|s| {
            s.console.sign_in_attempts = 2;
            s.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        }),
        ..Options::default()
    };
    let app = TestApp::spawn_with(Engine::Sqlite, "sign-in behind proxy", opts)
        .await
        .unwrap();
    let client = no_redirects();
    let attempt = |xff: &'static str| {
        let client = client.clone();
        let base = app.base.clone();
        async move {
            let (cookie, nonce) = super::client::login_form(&base, &client).await;
            client
                .post(format!("{base}/console/login"))
                .header(COOKIE, cookie)
                .header("x-forwarded-for", xff)
                .form(&[
                    ("access_token", "pga_wrong"),
                    ("login_csrf", nonce.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(attempt("203.0.113.5").await, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("203.0.113.5").await, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("203.0.113.5").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        attempt("203.0.113.6").await,
        StatusCode::UNAUTHORIZED,
        "another client"
    );
    let fails = app.events("authn_token_fail").await;
    assert!(
        fails.iter().any(|e| e["detail"]["source"] == "203.0.113.6"),
        "{fails:?}"
    );
    app.shutdown().await;
}
