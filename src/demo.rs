//! `pingate demo`: starts a throwaway pingate (temp SQLite, file
//! transports) and walks one call through the whole flow over real HTTP,
//! printing each step: signed webhook, IVR, challenge, wrong and right PIN,
//! grant, introspection, revocation, audit verification.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::clock::SystemClock;
use crate::config::{Secret, Settings};
use crate::domain::org::{ImportFormat, parse_import};
use crate::providers::twilio::signature;
use crate::service::{orgs, principals};
use crate::store::principals::Role;

const DEMO_ORG: &str = r#"
[[org]]
id = "contoso"
name = "Contoso Ltd"
account_number = "40012345"
registered_numbers = ["+14155550100"]
channels = ["email", "sms"]
[org.contacts]
email = "it-admin@contoso.example"
sms = "+14155550199"
"#;

fn step(title: &str) {
    println!("\n== {title}");
}

fn show(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub async fn run() -> Result<(), String> {
    let dir = tempfile_dir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let base = format!("http://127.0.0.1:{port}");
    let auth_token = format!("demo-{}", uuid::Uuid::new_v4().simple());

    let mut s = Settings::default();
    s.server.listen = format!("127.0.0.1:{port}");
    s.server.public_base_url = base.clone();
    s.server.data_dir = dir.join("data");
    s.database.url = Secret::from(format!("sqlite://{}", dir.join("demo.db").display()).as_str());
    s.twilio.auth_token = Some(Secret::from(auth_token.as_str()));
    s.email.file_dir = Some(dir.join("outbox"));
    s.sms.file_dir = Some(dir.join("outbox"));
    s.validate().map_err(|e| e.to_string())?;

    println!(
        "pingate demo: a throwaway instance at {base} (data in {})",
        dir.display()
    );
    let server = crate::start(s, Arc::new(SystemClock), listener)
        .await
        .map_err(|e| e.to_string())?;
    let st = Arc::clone(&server.state);
    let profiles = parse_import(DEMO_ORG, ImportFormat::Toml).map_err(|e| e.to_string())?;
    orgs::save_all(&st, "demo", &profiles)
        .await
        .map_err(|e| e.to_string())?;
    let agent = principals::add(&st, "demo", "alice", Role::Agent)
        .await
        .map_err(|e| e.to_string())?;
    let agent = agent.expose_secret().to_string();
    println!("imported org contoso (account number 40012345); created agent alice");

    let http = reqwest::Client::new();
    let call_sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let webhook = |path: &str, params: Vec<(&str, String)>| {
        let url = format!("{base}{path}");
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let sig = signature::sign(&url, &owned, auth_token.as_bytes());
        http.post(url)
            .header("x-twilio-signature", sig)
            .form(&owned)
            .send()
    };
    let agent_api = Api {
        http: http.clone(),
        base: base.clone(),
        token: agent,
    };
    let err = |e: reqwest::Error| e.to_string();

    step("Twilio posts an inbound call from an unregistered number (signed webhook)");
    let twiml = webhook(
        "/webhooks/twilio/voice",
        vec![
            ("CallSid", call_sid.clone()),
            ("AccountSid", "AC0123456789abcdef0123456789abcdef".into()),
            ("From", "+14155550123".into()),
            ("To", "+18005550100".into()),
            ("StirVerstat", "TN-Validation-Passed-A".into()),
        ],
    )
    .await
    .map_err(err)?
    .text()
    .await
    .map_err(err)?;
    println!("{twiml}");

    step("The caller keys the account number 40012345 into the IVR");
    let twiml = webhook(
        "/webhooks/twilio/gather",
        vec![("CallSid", call_sid.clone()), ("Digits", "40012345".into())],
    )
    .await
    .map_err(err)?
    .text()
    .await
    .map_err(err)?;
    println!("{twiml}");

    step("The agent looks the call up");
    let list = agent_api
        .get(&format!("/v1/calls?provider_call_id={call_sid}"))
        .await?;
    let call_id = text(&list["items"][0]["call_id"])?;
    show(&list["items"][0]);

    step("The agent sends a PIN by SMS to the org's registered phone");
    let ch = agent_api
        .post(
            &format!("/v1/calls/{call_id}/challenges"),
            json!({"channel": "sms"}),
        )
        .await?;
    show(&ch);
    let challenge_id = text(&ch["challenge_id"])?;

    let pin = read_sms_pin(&dir.join("outbox")).await?;
    println!("(the SMS file transport wrote the message; the caller reads the code: {pin})");

    let check = format!("/v1/challenges/{challenge_id}/check");
    step("A wrong PIN");
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    show(&agent_api.post(&check, json!({"pin": wrong})).await?);

    step("The right PIN: approved, with a grant");
    let ok = agent_api.post(&check, json!({"pin": pin})).await?;
    show(&ok);
    let token = text(&ok["grant"]["token"])?;
    let grant_id = text(&ok["grant"]["grant_id"])?;

    step("Support tooling asks: may alice act on contoso now?");
    show(
        &agent_api
            .post("/v1/grants/introspect", json!({"token": token}))
            .await?,
    );

    step("The grant is revoked; introspection says inactive");
    agent_api
        .post(&format!("/v1/grants/{grant_id}/revoke"), json!({}))
        .await?;
    show(
        &agent_api
            .post("/v1/grants/introspect", json!({"token": token}))
            .await?,
    );

    step("The audit trail verifies");
    let mut v = crate::audit::chain::ChainVerifier::new();
    let events = crate::store::audit::list(st.store.reader(), &Default::default(), 10_000)
        .await
        .map_err(|e| e.to_string())?;
    for e in &events {
        println!(
            "  {:>3} {:<28} {:<16} {}",
            e.seq, e.kind, e.actor, e.outcome
        );
        v.push(e).map_err(|e| e.to_string())?;
    }
    println!("ok: {} events, root {}", v.size(), hex::encode(v.root()));

    server.shutdown().await.map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The agent's side of the demo: JSON in, JSON out, errors as text.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, String> {
        req.bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json::<Value>()
            .await
            .map_err(|e| e.to_string())
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }
}

fn text(v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("unexpected answer: {v}"))
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("pingate-demo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Waits (bounded) for the delivery worker to write the SMS file.
async fn read_sms_pin(outbox: &std::path::Path) -> Result<String, String> {
    for _ in 0..100 {
        if let Ok(mut entries) = tokio::fs::read_dir(outbox).await {
            while let Ok(Some(e)) = entries.next_entry().await {
                if e.file_name().to_string_lossy().ends_with(".sms.json")
                    && let Ok(text) = tokio::fs::read_to_string(e.path()).await
                    && let Ok(v) = serde_json::from_str::<Value>(&text)
                    && let Some(body) = v["body"].as_str()
                    && let Some(code) = body
                        .split(|c: char| !c.is_ascii_digit())
                        .find(|w| w.len() == 6)
                {
                    return Ok(code.to_string());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the SMS did not arrive in the outbox".into())
}
