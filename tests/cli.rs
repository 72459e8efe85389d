//! The `pingate` binary as an operator runs it: each test works in a temp
//! directory (never the developer's `data/`), writes its own configuration
//! file, runs the real executable and reads its exit code, stdout and
//! stderr. `serve` runs as a child process and is stopped with SIGTERM.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

const BIN: &str = env!("CARGO_BIN_EXE_pingate");

/// The org profile of DESIGN.md, "Org profile import".
const CONTOSO: &str = r#"
[[org]]
id = "contoso"                 # stable id, [a-z0-9-]
name = "Contoso Ltd"
account_number = "40012345"    # what the caller keys into the IVR
registered_numbers = ["+14155550100", "+8613800138000"]
channels = ["email", "sms"]    # which challenge channels this org accepts
[org.contacts]
email = "it-admin@contoso.example"
sms = "+14155550199"
"#;

/// A temp directory the binary runs in.
struct Workspace {
    dir: tempfile::TempDir,
}

/// What a finished command left behind.
#[derive(Debug)]
struct Run {
    what: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert!(
            self.status.success(),
            "`{}` failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.status,
            self.stdout,
            self.stderr
        );
        self.assert_no_panic();
        self
    }

    /// A refusal: exit code 1, `error: ...` on stderr, no panic.
    #[track_caller]
    fn refused(self) -> Run {
        assert_eq!(
            self.status.code(),
            Some(1),
            "`{}` should fail with exit code 1:\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.starts_with("error: "),
            "`{}`: errors go to stderr as `error: ...`, got:\n{}",
            self.what,
            self.stderr
        );
        self.assert_no_panic();
        self
    }

    #[track_caller]
    fn assert_no_panic(&self) {
        for text in [&self.stdout, &self.stderr] {
            for needle in [
                "panicked",
                "stack backtrace",
                "RUST_BACKTRACE",
                "thread 'main'",
            ] {
                assert!(
                    !text.contains(needle),
                    "`{}` printed {needle:?}:\n{text}",
                    self.what
                );
            }
        }
    }
}

impl Workspace {
    fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// A configuration for a server on `port`, SQLite and keys under
    /// `data/` of the workspace, cheap argon2.
    fn config(&self, name: &str, port: u16) -> PathBuf {
        self.write(
            name,
            &format!(
                r#"
[server]
listen = "127.0.0.1:{port}"
public_base_url = "http://127.0.0.1:{port}"
data_dir = "data"

[database]
url = "sqlite://data/pingate.db"

[pin]
argon2_memory_kib = 1024
argon2_iterations = 1
"#
            ),
        )
    }

    /// The binary, run in the workspace with none of the caller's
    /// `PINGATE__*` variables.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path()).args(args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PINGATE") {
                cmd.env_remove(&key);
            }
        }
        cmd.env_remove("RUST_BACKTRACE").env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = self
            .command(args, env)
            .stdin(Stdio::null())
            .output()
            .expect("run pingate");
        Run {
            what: format!("pingate {}", args.join(" ")),
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Starts `pingate serve` and waits until `/healthz` answers.
    async fn serve(&self, args: &[&str], env: &[(&str, &str)], port: u16) -> Server {
        let log = self.path("serve.log");
        let out = std::fs::File::create(self.path("serve.out")).expect("stdout file");
        let err = std::fs::File::create(&log).expect("stderr file");
        let child = self
            .command(args, env)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn pingate serve");
        let mut server = Server {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_ready().await;
        server
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A `pingate serve` child process; killed if the test ends early.
struct Server {
    child: Option<Child>,
    base: String,
    log: PathBuf,
}

impl Server {
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        for _ in 0..400 {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "pingate serve exited with {status} before it was ready:\n{}",
                    self.stderr()
                );
            }
            if let Ok(resp) = client.get(format!("{}/healthz", self.base)).send().await
                && resp.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "pingate serve did not answer /healthz within 20 s:\n{}",
            self.stderr()
        );
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit.
    async fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let waited = tokio::task::spawn_blocking(move || {
            for _ in 0..400 {
                match child.try_wait() {
                    Ok(Some(status)) => return Ok(status),
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                    Err(e) => panic!("wait for pingate serve: {e}"),
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            Err(())
        })
        .await
        .expect("wait task");
        match waited {
            Ok(status) => status,
            Err(()) => panic!(
                "pingate serve did not exit within 20 s of SIGTERM:\n{}",
                self.stderr()
            ),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn agent_add_prints_only_the_token_and_it_works_against_serve() {
    let ws = Workspace::new();
    let port = free_port();
    ws.config("pingate.toml", port);
    let run = ws
        .run(&[
            "--config",
            "pingate.toml",
            "agent",
            "add",
            "alice",
            "--role",
            "agent",
        ])
        .ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout must hold the token alone: {:?}",
        run.stdout
    );
    let token = lines[0];
    assert!(token.starts_with("pga_"), "{token}");
    assert!(
        token.len() > 20 && !token.contains(char::is_whitespace),
        "{token:?}"
    );
    assert_eq!(run.stdout, format!("{token}\n"));
    assert!(
        run.stderr.contains("alice"),
        "stderr says what was created: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(token),
        "the token is printed once, on stdout"
    );
    let reviewer = ws
        .run(&[
            "agent",
            "add",
            "rita",
            "--role",
            "reviewer",
            "--config",
            "pingate.toml",
        ])
        .ok();
    let reviewer = reviewer.stdout.trim().to_string();

    let server = ws
        .serve(&["--config", "pingate.toml", "serve"], &[], port)
        .await;
    let client = reqwest::Client::new();
    let calls = format!("{}/v1/calls", server.base);
    let resp = client
        .get(&calls)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client.get(&calls).send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = client
        .get(&calls)
        .bearer_auth(&reviewer)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let status = server.terminate().await;
    assert!(
        status.success(),
        "SIGTERM should end serve gracefully with 0, got {status}"
    );
}

#[test]
fn config_option_works_before_and_after_the_subcommand() {
    let ws = Workspace::new();
    ws.write(
        "a.toml",
        "[database]\nurl = \"sqlite://a/pingate.db\"\n[server]\ndata_dir = \"a\"\n",
    );
    ws.write(
        "b.toml",
        "[database]\nurl = \"sqlite://b/pingate.db\"\n[server]\ndata_dir = \"b\"\n",
    );
    ws.run(&["--config", "a.toml", "migrate"]).ok();
    assert!(
        ws.path("a/pingate.db").exists(),
        "--config before the subcommand was ignored"
    );
    ws.run(&["migrate", "--config", "b.toml"]).ok();
    assert!(
        ws.path("b/pingate.db").exists(),
        "--config after the subcommand was ignored"
    );
    ws.run(&[
        "agent", "add", "adam", "--role", "admin", "--config", "b.toml",
    ])
    .ok();
    assert!(ws.path("b/pepper").exists());
    assert!(
        !ws.path("data/pingate.db").exists() && !ws.path("data/pepper").exists(),
        "the default location was used despite --config"
    );
}

#[test]
fn a_missing_explicit_config_file_is_a_plain_error() {
    let ws = Workspace::new();
    for args in [
        &["--config", "nope.toml", "migrate"][..],
        &["migrate", "--config", "nope.toml"][..],
        &["config", "check", "--config", "nope.toml"][..],
        &[
            "--config",
            "nope.toml",
            "agent",
            "add",
            "alice",
            "--role",
            "agent",
        ][..],
    ] {
        let run = ws.run(args).refused();
        assert!(
            run.stderr.contains("nope.toml"),
            "the error names the file: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    assert!(
        !ws.path("data").exists(),
        "nothing is created without a configuration"
    );
}

#[test]
fn config_check_accepts_a_valid_file() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    let run = ws
        .run(&["config", "check", "--config", "pingate.toml"])
        .ok();
    assert!(
        run.stdout.contains("configuration is valid"),
        "{}",
        run.stdout
    );
    // The shipped example is valid too.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/pingate.toml");
    let run = ws
        .run(&[
            "--config",
            shipped.to_str().expect("UTF-8 path"),
            "config",
            "check",
        ])
        .ok();
    assert!(
        run.stdout.contains("configuration is valid"),
        "{}",
        run.stdout
    );
}

#[test]
fn config_check_names_every_problem_in_a_bad_file() {
    let ws = Workspace::new();
    ws.write(
        "bad.toml",
        "[server]\nlisten = \"nowhere\"\n\n[pin]\nlength = 4\ncolour = \"blue\"\n",
    );
    let run = ws
        .run(&["config", "check", "--config", "bad.toml"])
        .refused();
    let said = format!("{}{}", run.stdout, run.stderr);
    for needle in ["pin.length", "server.listen", "colour"] {
        assert!(said.contains(needle), "{needle} is not named in:\n{said}");
    }
    assert!(!said.contains("configuration is valid"), "{said}");
}

#[test]
fn config_check_names_every_invalid_value() {
    let ws = Workspace::new();
    ws.write(
        "bad.toml",
        "[server]\nlisten = \"nowhere\"\n\n[pin]\nlength = 4\n",
    );
    let run = ws
        .run(&["config", "check", "--config", "bad.toml"])
        .refused();
    for needle in ["pin.length", "server.listen", "nowhere"] {
        assert!(
            run.stderr.contains(needle),
            "{needle} is not named in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn environment_overrides_the_configuration_file() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    let run = ws
        .run_env(
            &["config", "check", "--config", "pingate.toml"],
            &[("PINGATE__PIN__LENGTH", "12")],
        )
        .refused();
    assert!(run.stderr.contains("pin.length"), "{}", run.stderr);
    assert!(run.stderr.contains("12"), "{}", run.stderr);
    // Without a file at all, the environment still applies.
    let run = ws
        .run_env(&["config", "check"], &[("PINGATE__PIN__LENGTH", "12")])
        .refused();
    assert!(run.stderr.contains("pin.length"), "{}", run.stderr);
    ws.run_env(&["config", "check"], &[("PINGATE__PIN__LENGTH", "8")])
        .ok();
}

fn org_list(ws: &Workspace) -> String {
    ws.run(&["org", "list", "--config", "pingate.toml"])
        .ok()
        .stdout
}

#[test]
fn org_import_creates_then_updates_and_json_works() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    ws.write("orgs.toml", CONTOSO);
    let run = ws
        .run(&["--config", "pingate.toml", "org", "import", "orgs.toml"])
        .ok();
    assert!(run.stdout.contains("1 created"), "{}", run.stdout);
    let list = org_list(&ws);
    assert!(
        list.contains("contoso") && list.contains("Contoso Ltd") && list.contains("40012345"),
        "{list}"
    );
    assert!(list.contains("+14155550100"), "{list}");

    ws.write(
        "orgs.toml",
        &CONTOSO
            .replace("Contoso Ltd", "Contoso Group")
            .replace(r#", "+8613800138000""#, ""),
    );
    let run = ws
        .run(&["--config", "pingate.toml", "org", "import", "orgs.toml"])
        .ok();
    assert!(run.stdout.contains("1 updated"), "{}", run.stdout);
    let list = org_list(&ws);
    assert!(
        list.contains("Contoso Group") && !list.contains("Contoso Ltd"),
        "{list}"
    );
    assert!(
        !list.contains("+8613800138000"),
        "re-import replaces the numbers: {list}"
    );

    ws.write(
        "more.json",
        r#"{"org": [{
            "id": "fabrikam",
            "name": "Fabrikam Inc",
            "account_number": "50012345",
            "registered_numbers": ["+442071838750"],
            "channels": ["email"],
            "contacts": {"email": "security@fabrikam.example"}
        }]}"#,
    );
    let run = ws
        .run(&["--config", "pingate.toml", "org", "import", "more.json"])
        .ok();
    assert!(run.stdout.contains("1 created"), "{}", run.stdout);
    let list = org_list(&ws);
    assert!(
        list.contains("fabrikam") && list.contains("Fabrikam Inc") && list.contains("contoso"),
        "{list}"
    );
}

#[test]
fn org_import_with_mistakes_reports_each_by_org_and_field_and_imports_nothing() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    ws.write("orgs.toml", CONTOSO);
    ws.run(&["--config", "pingate.toml", "org", "import", "orgs.toml"])
        .ok();
    let before = org_list(&ws);

    ws.write(
        "bad.toml",
        r#"
[[org]]
id = "alpha"
name = "Alpha"
account_number = "60012345"
registered_numbers = ["12345"]
channels = ["email", "fax"]
[org.contacts]
email = "not-an-address"

[[org]]
id = "beta"
name = "Beta"
account_number = "abc"
registered_numbers = ["+14155550177"]
channels = ["sms"]
[org.contacts]
sms = "+1555"

[[org]]
id = "gamma"
name = "Gamma is fine"
account_number = "70012345"
registered_numbers = ["+14155550188"]
channels = ["email"]
[org.contacts]
email = "it@gamma.example"
"#,
    );
    let run = ws
        .run(&["--config", "pingate.toml", "org", "import", "bad.toml"])
        .refused();
    for needle in [
        "org alpha: registered_numbers[0]",
        "org alpha: channels[1]",
        "org alpha: contacts.email",
        "org beta: account_number",
        "org beta: contacts.sms",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} not reported:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.stderr.contains("gamma"),
        "the valid org is not an error:\n{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(
        org_list(&ws),
        before,
        "a file with mistakes imported something"
    );
}

#[test]
fn org_import_refuses_a_number_registered_to_another_org() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    ws.write("orgs.toml", CONTOSO);
    ws.run(&["--config", "pingate.toml", "org", "import", "orgs.toml"])
        .ok();
    let before = org_list(&ws);
    ws.write(
        "taken.toml",
        r#"
[[org]]
id = "fabrikam"
name = "Fabrikam Inc"
account_number = "50012345"
registered_numbers = ["+442071838750", "+14155550100"]
channels = ["email"]
[org.contacts]
email = "security@fabrikam.example"
"#,
    );
    let run = ws
        .run(&["--config", "pingate.toml", "org", "import", "taken.toml"])
        .refused();
    assert!(
        run.stderr.contains("org fabrikam: registered_numbers[1]"),
        "the error names org and field:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("contoso"),
        "the error names the owner:\n{}",
        run.stderr
    );
    assert_eq!(org_list(&ws), before, "a refused import wrote something");
}

#[test]
fn migrate_creates_a_fresh_sqlite_database_and_is_repeatable() {
    let ws = Workspace::new();
    ws.write(
        "m.toml",
        "[database]\nurl = \"sqlite://deep/er/pingate.db\"\n",
    );
    let run = ws.run(&["--config", "m.toml", "migrate"]).ok();
    assert!(run.stderr.contains("migrations applied"), "{}", run.stderr);
    assert!(ws.path("deep/er/pingate.db").exists());
    ws.run(&["--config", "m.toml", "migrate"]).ok();
}

#[cfg(unix)]
#[tokio::test]
async fn serve_without_configuration_creates_the_database_and_private_keys() {
    let ws = Workspace::new();
    let port = free_port();
    // No file at all; only the port moves off 8080 so tests never collide
    // with a developer's server.
    let listen = format!("127.0.0.1:{port}");
    let server = ws
        .serve(
            &["serve"],
            &[("PINGATE__SERVER__LISTEN", listen.as_str())],
            port,
        )
        .await;
    assert!(
        ws.path("data/pingate.db").exists(),
        "data/pingate.db was not created"
    );
    for file in ["data/pepper", "data/audit-signing.key"] {
        let path = ws.path(file);
        assert!(path.exists(), "{file} was not created");
        assert_eq!(mode(&path), 0o600, "{file} has mode {:o}", mode(&path));
    }
    let status = server.terminate().await;
    assert!(
        status.success(),
        "SIGTERM should end serve gracefully with 0, got {status}"
    );
}

/// The database holds the org profiles' contacts, callers' numbers and
/// token hashes: only the service's user may read it.
#[cfg(unix)]
#[test]
fn the_default_sqlite_database_is_created_private() {
    let ws = Workspace::new();
    ws.run(&["migrate"]).ok();
    let path = ws.path("data/pingate.db");
    assert!(path.exists(), "data/pingate.db was not created");
    assert_eq!(
        mode(&path),
        0o600,
        "data/pingate.db has mode {:o}",
        mode(&path)
    );
}

#[test]
fn audit_verify_and_export_after_cli_actions() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    ws.write("orgs.toml", CONTOSO);
    ws.run(&["--config", "pingate.toml", "migrate"]).ok();
    ws.run(&[
        "--config",
        "pingate.toml",
        "agent",
        "add",
        "alice",
        "--role",
        "agent",
    ])
    .ok();
    ws.run(&[
        "--config",
        "pingate.toml",
        "agent",
        "add",
        "rita",
        "--role",
        "reviewer",
    ])
    .ok();
    ws.run(&["--config", "pingate.toml", "org", "import", "orgs.toml"])
        .ok();

    let run = ws
        .run(&["--config", "pingate.toml", "audit", "verify"])
        .ok();
    assert!(
        run.stdout.starts_with("ok: 3 events verified"),
        "{}",
        run.stdout
    );

    let run = ws
        .run(&["--config", "pingate.toml", "audit", "export"])
        .ok();
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        vec!["principal_created", "principal_created", "org_created"]
    );
    assert_eq!(events[0]["seq"], 1);
    ws.write("audit.jsonl", &run.stdout);
    let run = ws
        .run(&[
            "--config",
            "pingate.toml",
            "audit",
            "verify",
            "--export",
            "audit.jsonl",
        ])
        .ok();
    assert!(
        run.stdout.starts_with("ok: 3 events verified"),
        "{}",
        run.stdout
    );

    let run = ws
        .run(&[
            "--config",
            "pingate.toml",
            "audit",
            "export",
            "--format",
            "csv",
        ])
        .ok();
    assert!(run.stdout.starts_with("seq,at,kind,"), "{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
}

#[tokio::test]
async fn postgres_migrate_and_agent_add() {
    let base = match std::env::var("PINGATE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            eprintln!(
                "SKIPPED postgres_migrate_and_agent_add: set PINGATE_TEST_DATABASE_URL \
                 (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"
            );
            return;
        }
    };
    let name = format!("pingate_cli_{}", uuid::Uuid::new_v4().simple());
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .expect("connect to PINGATE_TEST_DATABASE_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create database");
        admin.close().await.expect("close");
    }
    let (prefix, _) = base.rsplit_once('/').expect("URL has a database path");
    let url = format!("{prefix}/{name}");

    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    // The database URL from the environment, as the README recommends.
    let env = [("PINGATE__DATABASE__URL", url.as_str())];
    let run = ws
        .run_env(&["--config", "pingate.toml", "migrate"], &env)
        .ok();
    assert!(run.stderr.contains("migrations applied"), "{}", run.stderr);
    let run = ws
        .run_env(
            &[
                "--config",
                "pingate.toml",
                "agent",
                "add",
                "alice",
                "--role",
                "agent",
            ],
            &env,
        )
        .ok();
    assert!(
        run.stdout.starts_with("pga_") && run.stdout.lines().count() == 1,
        "{}",
        run.stdout
    );
    let run = ws
        .run_env(&["--config", "pingate.toml", "audit", "verify"], &env)
        .ok();
    assert!(
        run.stdout.starts_with("ok: 1 events verified"),
        "{}",
        run.stdout
    );
    assert!(
        !ws.path("data/pingate.db").exists(),
        "SQLite was used instead of PostgreSQL"
    );

    let mut conn = {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&url)
            .await
            .expect("connect to the CLI's database")
    };
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM principals")
        .fetch_all(&mut conn)
        .await
        .expect("principals");
    assert_eq!(names, vec!["alice".to_string()]);
}
