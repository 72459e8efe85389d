//! `pingate call simulate` against a running `pingate serve`: signed
//! webhooks the server accepts, the TwiML on stderr, the call id alone on
//! stdout, and the call as an agent then sees it.

use serde_json::Value;

use super::{CONTOSO, Workspace, free_port};

const TOKEN_VAR: &str = "PINGATE__TWILIO__AUTH_TOKEN";

async fn call_of(base: &str, agent: &str, call_id: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/v1/calls/{call_id}"))
        .bearer_auth(agent)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn call_simulate_posts_signed_webhooks_and_prints_the_call_id() {
    let ws = Workspace::new();
    let port = free_port();
    ws.config("pingate.toml", port);
    ws.write("orgs.toml", CONTOSO);
    let env = [(TOKEN_VAR, "sim-auth-token-0123456789")];
    let cfg = ["--config", "pingate.toml"];
    let args = |rest: &[&'static str]| [&cfg[..], rest].concat();
    ws.run_env(&args(&["org", "import", "orgs.toml"]), &env)
        .ok();
    let agent = ws
        .run_env(&args(&["agent", "add", "alice", "--role", "agent"]), &env)
        .ok()
        .stdout
        .trim()
        .to_string();
    let server = ws.serve(&args(&["serve"]), &env, port).await;

    let unknown = ws
        .run_env(
            &args(&[
                "call",
                "simulate",
                "--from",
                "+14155550123",
                "--attestation",
                "A",
                "--digits",
                "40012345",
            ]),
            &env,
        )
        .ok();
    let call_id = unknown.stdout.trim().to_string();
    assert_eq!(unknown.stdout, format!("{call_id}\n"), "the call id alone");
    assert!(call_id.starts_with("call_"), "{call_id}");
    assert!(unknown.stderr.contains("<Gather"), "{}", unknown.stderr);
    let call = call_of(&server.base, &agent, &call_id).await;
    assert_eq!(call["from"], "+14155550123", "{call}");
    assert_eq!(
        call["org_id"], "contoso",
        "the IVR digits named the org: {call}"
    );
    assert_eq!(call["verification"], "pin_required", "{call}");
    assert_eq!(call["attestation"], "TN-Validation-Passed-A", "{call}");

    let trusted = ws
        .run_env(
            &args(&[
                "call",
                "simulate",
                "--from",
                "+14155550100",
                "--attestation",
                "A",
                "--hangup",
            ]),
            &env,
        )
        .ok();
    let call = call_of(&server.base, &agent, trusted.stdout.trim()).await;
    assert_eq!(call["verification"], "trusted_number", "{call}");
    assert_eq!(call["status"], "ended", "--hangup ended it: {call}");

    // Signed with another token: the server refuses, the simulator says so.
    let forged = ws.run_env(
        &args(&["call", "simulate", "--from", "+14155550123"]),
        &[(TOKEN_VAR, "not-the-servers-token")],
    );
    // The progress it printed first is on stderr too, before the error.
    assert_eq!(forged.status.code(), Some(1), "{}", forged.stderr);
    forged.assert_no_panic();
    assert!(forged.stderr.contains("error: "), "{}", forged.stderr);
    assert!(forged.stderr.contains("403"), "{}", forged.stderr);

    let none = ws
        .run(&args(&["call", "simulate", "--from", "+14155550123"]))
        .refused();
    assert!(none.stderr.contains("twilio.auth_token"), "{}", none.stderr);
    assert!(server.terminate().await.success());
}
