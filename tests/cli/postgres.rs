//! PostgreSQL as an operator meets it: failures that say what, where and
//! why (never the password), and the secrets every instance must share.
//! The real server is the one in `PINGATE_TEST_DATABASE_URL`; a closed
//! port stands for an unreachable one.

use super::database::ScratchDatabase;
use super::{Workspace, free_port};

/// A 32-byte ed25519 seed in base64, as `openssl rand -base64 32` makes.
const SIGNING_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const PEPPER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn an_unreachable_server_is_named_with_the_reason_and_the_fix() {
    let ws = Workspace::new();
    let port = free_port(); // nothing listens there once the probe is dropped
    let url = format!("postgres://pingate:s3cret-pw@127.0.0.1:{port}/pingate");
    let env = [
        ("PINGATE__DATABASE__URL", url.as_str()),
        ("PINGATE__SECURITY__PEPPER", PEPPER),
        ("PINGATE__AUDIT__SIGNING_KEY", SIGNING_KEY),
    ];
    for args in [
        &["migrate"][..],
        &["config", "check"][..],
        &["org", "list"][..],
    ] {
        let run = ws.run_env(args, &env).refused();
        for needle in [
            format!("127.0.0.1:{port}"),
            "database pingate".into(),
            "connection refused".into(),
            "fix: ".into(),
        ] {
            assert!(
                run.stderr.contains(&needle),
                "`{}`: {needle:?} not in:\n{}",
                run.what,
                run.stderr
            );
        }
        assert!(
            !run.stderr.contains("s3cret-pw"),
            "the password leaked:\n{}",
            run.stderr
        );
        assert!(!run.stderr.contains("pool timed out"), "{}", run.stderr);
    }
}

#[tokio::test]
#[cfg_attr(
    not(pingate_test_postgres),
    ignore = "PostgreSQL only: set PINGATE_TEST_DATABASE_URL to run it"
)]
async fn a_missing_database_and_a_wrong_user_are_told_apart() {
    let Some(db) = ScratchDatabase::create().await else {
        return;
    };
    let base = db.server.clone();
    let (prefix, _) = base.rsplit_once('/').expect("URL has a database path");
    let ws = Workspace::new();
    let missing = format!("{prefix}/pingate_no_such_db");
    let run = ws
        .run_env(
            &["migrate"],
            &[("PINGATE__DATABASE__URL", missing.as_str())],
        )
        .refused();
    assert!(
        run.stderr
            .contains("database pingate_no_such_db does not exist"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("createdb"), "{}", run.stderr);
    assert!(!run.stderr.contains("at line"), "{}", run.stderr);
    let rest = base.split_once("://").expect("scheme").1;
    let host_and_db = rest.split_once('@').map_or(rest, |(_, h)| h);
    let stranger = format!("postgres://no_such_user_x:pw@{host_and_db}");
    let run = ws
        .run_env(
            &["migrate"],
            &[("PINGATE__DATABASE__URL", stranger.as_str())],
        )
        .refused();
    assert!(run.stderr.contains("no_such_user_x"), "{}", run.stderr);
    assert!(!run.stderr.contains(":pw@"), "{}", run.stderr);
}

#[tokio::test]
async fn serve_and_config_check_refuse_postgres_without_shared_secrets() {
    let ws = Workspace::new();
    let port = free_port();
    ws.config("pingate.toml", port);
    // The check comes before any connection: no server is needed to refuse.
    let url = format!("postgres://pingate@127.0.0.1:{}/pingate", free_port());
    for args in [
        &["--config", "pingate.toml", "serve"][..],
        &["--config", "pingate.toml", "config", "check"][..],
    ] {
        let run = ws
            .run_env(args, &[("PINGATE__DATABASE__URL", url.as_str())])
            .refused();
        assert!(run.stderr.contains("security.pepper"), "{}", run.stderr);
        assert!(run.stderr.contains("audit.signing_key"), "{}", run.stderr);
        let run = ws
            .run_env(
                args,
                &[
                    ("PINGATE__DATABASE__URL", url.as_str()),
                    ("PINGATE__SECURITY__PEPPER", PEPPER),
                ],
            )
            .refused();
        assert!(!run.stderr.contains("security.pepper"), "{}", run.stderr);
        assert!(run.stderr.contains("audit.signing_key"), "{}", run.stderr);
    }
    assert!(!ws.path("data/pepper").exists(), "a pepper was generated");
}

/// Two instances (two working directories, as on two machines) given the
/// same secrets: a token made on one works on the other, and `config
/// check` connects to the real server.
#[tokio::test]
#[cfg_attr(
    not(pingate_test_postgres),
    ignore = "PostgreSQL only: set PINGATE_TEST_DATABASE_URL to run it"
)]
async fn instances_given_the_same_secrets_accept_each_others_tokens() {
    let Some(db) = ScratchDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let env = [
        ("PINGATE__DATABASE__URL", url.as_str()),
        ("PINGATE__SECURITY__PEPPER", PEPPER),
        ("PINGATE__AUDIT__SIGNING_KEY", SIGNING_KEY),
    ];
    let first = Workspace::new();
    first.config("pingate.toml", free_port());
    first
        .run_env(&["--config", "pingate.toml", "migrate"], &env)
        .ok();
    let run = first
        .run_env(&["--config", "pingate.toml", "config", "check"], &env)
        .ok();
    assert!(
        run.stdout.contains("connected to PostgreSQL at"),
        "{}",
        run.stdout
    );
    let token = first
        .run_env(
            &[
                "--config",
                "pingate.toml",
                "agent",
                "add",
                "alice",
                "--role",
                "admin",
            ],
            &env,
        )
        .ok()
        .stdout
        .trim()
        .to_string();
    let second = Workspace::new();
    let port = free_port();
    second.config("pingate.toml", port);
    let server = second
        .serve(&["--config", "pingate.toml", "serve"], &env, port)
        .await;
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/orgs", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    server.terminate().await;
    assert!(!first.path("data/pepper").exists() && !second.path("data/pepper").exists());
    assert!(!second.path("data/audit-signing.key").exists());
}
