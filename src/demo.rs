//! `pingate demo`: starts a throwaway pingate (temp SQLite, file
//! transports, its own keys and server) and walks one call through the
//! whole flow over real HTTP, printing each step: signed webhook, IVR,
//! challenge, wrong and right PIN, grant, introspection, revocation, audit
//! verification. The PIN and grant settings come from the configuration;
//! everything else is the demo's own. The temporary directory is removed on
//! every exit: success, error, panic, Ctrl-C or a closed stdout.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::clock::SystemClock;
use crate::config::{Secret, Settings};
use crate::domain::org::{ImportFormat, parse_import};
use crate::outln;
use crate::providers::simulated::{self, SimulatedCall};
use crate::service::{orgs, principals};
use crate::store::principals::Role;

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
    #[error("the demo server did not start: {0}")]
    Start(#[from] crate::app::BuildError),
    #[error("the demo settings are invalid: {0}")]
    Settings(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Service(#[from] crate::service::ServiceError),
    #[error("the demo org profile is invalid: {0}")]
    Profile(#[from] crate::domain::org::ImportErrors),
    #[error("cannot reach the demo server: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the demo call: {0}")]
    Call(#[from] simulated::CallerError),
    #[error("the demo server answered unexpectedly: {0}")]
    Answer(Value),
    #[error("the SMS did not arrive in the outbox")]
    NoSms,
    #[error("the audit trail of the demo does not verify: {0}")]
    Audit(String),
    #[error("interrupted; the demo's temporary directory was removed")]
    Interrupted,
    #[error("cannot remove the demo's temporary directory {}: {source}", .dir.display())]
    Cleanup {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
}

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

fn step(title: &str) -> std::io::Result<()> {
    outln!("\n== {title}")
}

fn show(v: &Value) -> std::io::Result<()> {
    outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default())
}

/// Runs the demo with the PIN and grant settings of `configured` (read
/// from `source`, named in the output), in a directory removed at the end.
pub async fn run(configured: Settings, source: &str) -> Result<(), DemoError> {
    let stop = interrupted();
    let dir = tempfile::Builder::new().prefix("pingate-demo-").tempdir()?;
    let outcome = start_and_walk(configured, source, dir.path(), stop).await;
    // Explicit, so a failure to remove is not silent; a panic above still
    // removes it when `dir` is dropped during unwinding.
    let path = dir.path().to_path_buf();
    match dir.close() {
        Ok(()) => outcome,
        Err(source) => Err(DemoError::Cleanup { dir: path, source }),
    }
}

/// Starts the demo server and walks the flow until done or `stop`. The
/// server is always shut down before this returns, so none of its tasks
/// writes into the directory while it is being removed.
async fn start_and_walk(
    configured: Settings,
    source: &str,
    dir: &Path,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), DemoError> {
    tokio::pin!(stop);
    // `crate::start` spawns the server's tasks only once nothing is left
    // to await, so dropping it here leaves nothing running.
    let started = tokio::select! {
        r = start(&configured, source, dir) => r?,
        () = &mut stop => return Err(DemoError::Interrupted),
    };
    let walked = tokio::select! {
        r = walk(&started, dir) => r,
        () = &mut stop => Err(DemoError::Interrupted),
    };
    let stopped = started.server.shutdown().await;
    walked?;
    Ok(stopped?)
}

/// Registers for SIGINT (Ctrl-C) and SIGTERM at once (a signal sent the
/// moment the demo prints must not kill it uncleaned); the future
/// completes on either.
fn interrupted() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
            }
            _ => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The demo's own settings: the configured PIN and grant rules, and a
/// private server, database, transports and secrets under `dir`.
fn demo_settings(configured: &Settings, dir: &Path, port: u16, auth_token: &str) -> Settings {
    let mut s = Settings {
        pin: configured.pin.clone(),
        grant: configured.grant.clone(),
        ..Settings::default()
    };
    s.server.listen = format!("127.0.0.1:{port}");
    s.server.public_base_url = format!("http://127.0.0.1:{port}");
    s.server.data_dir = dir.join("data");
    s.database.url = Secret::from(format!("sqlite://{}", dir.join("demo.db").display()).as_str());
    simulated::accept_signed_by(&mut s, auth_token);
    s.email.file_dir = Some(dir.join("outbox"));
    s.sms.file_dir = Some(dir.join("outbox"));
    s
}

/// The running demo server and what the walk needs to talk to it.
struct Started {
    server: crate::RunningServer,
    base: String,
    /// The demo's own settings, as the server runs with them.
    settings: Settings,
    pin_length: usize,
}

/// Prints what the demo is, then starts its private server.
async fn start(configured: &Settings, source: &str, dir: &Path) -> Result<Started, DemoError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let auth_token = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let s = demo_settings(configured, dir, port, &auth_token);
    s.validate()?;
    let pin_length = s.pin.length;

    outln!(
        "pingate demo: a throwaway instance at {base} (data in {})",
        dir.display()
    )?;
    outln!(
        "PIN and grant settings from {source} (pin.length {}, pin.ttl {}s, grant.ttl {}s); \
         the server, database, file transports and keys are the demo's own",
        s.pin.length,
        s.pin.ttl.0.as_secs(),
        s.grant.ttl.0.as_secs()
    )?;
    let server = crate::start(s.clone(), Arc::new(SystemClock), listener).await?;
    Ok(Started {
        server,
        base,
        settings: s,
        pin_length,
    })
}

/// One call through the whole flow against the started server.
async fn walk(started: &Started, dir: &Path) -> Result<(), DemoError> {
    let st = &started.server.state;
    let profiles = parse_import(DEMO_ORG, ImportFormat::Toml)?;
    orgs::save_all(st, "demo", &profiles).await?;
    let agent = principals::add(st, "demo", "alice", Role::Agent).await?;
    let agent = agent.expose_secret().to_string();
    outln!("imported org contoso (account number 40012345); created agent alice")?;

    let demo = Demo {
        http: reqwest::Client::new(),
        base: started.base.clone(),
        agent,
        call: SimulatedCall::new(&started.settings, &started.base)?,
    };
    let call_id = demo.call_steps().await?;
    let grant = demo
        .pin_steps(&call_id, &dir.join("outbox"), started.pin_length)
        .await?;
    demo.grant_steps(&grant).await?;
    audit_steps(st).await
}

/// The demo's client side: the provider's signed webhooks and the agent's
/// API.
struct Demo {
    http: reqwest::Client,
    base: String,
    agent: String,
    call: SimulatedCall,
}

/// The grant the right PIN earned.
struct Earned {
    grant_id: String,
    token: String,
}

impl Demo {
    async fn api(&self, req: reqwest::RequestBuilder) -> Result<Value, DemoError> {
        Ok(req.bearer_auth(&self.agent).send().await?.json().await?)
    }

    async fn get(&self, path: &str) -> Result<Value, DemoError> {
        self.api(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, DemoError> {
        self.api(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// The call arrives and the caller names the org; answers the call id.
    async fn call_steps(&self) -> Result<String, DemoError> {
        step(&format!(
            "{} posts an inbound call from an unregistered number (signed webhook)",
            simulated::NAME
        ))?;
        let reply = self
            .call
            .arrive("+14155550123", "+18005550100", Some("A"))
            .await?;
        outln!("{reply}")?;

        step("The caller keys the account number 40012345 into the IVR")?;
        let url = simulated::digits_url(&reply)
            .ok_or_else(|| DemoError::Answer(Value::String(reply.clone())))?;
        let reply = self.call.key(&url, "40012345").await?;
        outln!("{reply}")?;

        step("The agent looks the call up")?;
        let sid = self.call.call_ref();
        let list = self
            .get(&format!("/v1/calls?provider_call_id={sid}"))
            .await?;
        show(&list["items"][0])?;
        text(&list["items"][0]["call_id"])
    }

    /// A PIN by SMS, a wrong guess, the right one.
    async fn pin_steps(
        &self,
        call_id: &str,
        outbox: &Path,
        pin_length: usize,
    ) -> Result<Earned, DemoError> {
        step("The agent sends a PIN by SMS to the org's registered phone")?;
        let ch = self
            .post(
                &format!("/v1/calls/{call_id}/challenges"),
                json!({"channel": "sms"}),
            )
            .await?;
        show(&ch)?;
        let challenge_id = text(&ch["challenge_id"])?;
        let pin = read_sms_pin(outbox, pin_length).await?;
        outln!("(the SMS file transport wrote the message; the caller reads the code: {pin})")?;

        let check = format!("/v1/challenges/{challenge_id}/check");
        step("A wrong PIN")?;
        let zeros = "0".repeat(pin_length);
        let wrong = if pin == zeros {
            "1".repeat(pin_length)
        } else {
            zeros
        };
        show(&self.post(&check, json!({"pin": wrong})).await?)?;

        step("The right PIN: approved, with a grant")?;
        let ok = self.post(&check, json!({"pin": pin})).await?;
        show(&ok)?;
        Ok(Earned {
            grant_id: text(&ok["grant"]["grant_id"])?,
            token: text(&ok["grant"]["token"])?,
        })
    }

    async fn grant_steps(&self, grant: &Earned) -> Result<(), DemoError> {
        let introspect = json!({"token": grant.token});
        step("Support tooling asks: may alice act on contoso now?")?;
        show(
            &self
                .post("/v1/grants/introspect", introspect.clone())
                .await?,
        )?;

        step("The grant is revoked; introspection says inactive")?;
        self.post(&format!("/v1/grants/{}/revoke", grant.grant_id), json!({}))
            .await?;
        show(&self.post("/v1/grants/introspect", introspect).await?)?;
        Ok(())
    }
}

async fn audit_steps(st: &crate::app::AppState) -> Result<(), DemoError> {
    step("The audit trail verifies")?;
    let mut v = crate::audit::chain::ChainVerifier::new();
    let events = crate::store::audit::list(st.store.reader(), &Default::default(), 10_000)
        .await
        .map_err(|e| DemoError::Audit(e.to_string()))?;
    for e in &events {
        outln!(
            "  {:>3} {:<28} {:<16} {}",
            e.seq,
            e.kind,
            e.actor,
            e.outcome
        )?;
        v.push(e).map_err(|e| DemoError::Audit(e.to_string()))?;
    }
    outln!("ok: {} events, root {}", v.size(), hex::encode(v.root()))?;
    Ok(())
}

fn text(v: &Value) -> Result<String, DemoError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| DemoError::Answer(v.clone()))
}

/// Waits (bounded) for the delivery worker to write the SMS file.
async fn read_sms_pin(outbox: &Path, pin_length: usize) -> Result<String, DemoError> {
    for _ in 0..100 {
        if let Ok(mut entries) = tokio::fs::read_dir(outbox).await {
            while let Ok(Some(e)) = entries.next_entry().await {
                if e.file_name().to_string_lossy().ends_with(".sms.json")
                    && let Ok(text) = tokio::fs::read_to_string(e.path()).await
                    && let Ok(v) = serde_json::from_str::<Value>(&text)
                    && let Some(body) = v["body"].as_str()
                    && let Some(code) = body
                        .split(|c: char| !c.is_ascii_digit())
                        .find(|w| w.len() == pin_length)
                {
                    return Ok(code.to_string());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(DemoError::NoSms)
}
