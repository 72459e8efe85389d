//! The `pingate` binary as an operator runs it: each test works in a temp
//! directory (never the developer's `data/`), writes its own configuration
//! file, runs the real executable and reads its exit code, stdout and
//! stderr. `serve` runs as a child process and is stopped with SIGTERM.

mod agents;
mod audit;
mod config;
mod database;
mod demo;
mod logs;
mod operator;
mod orgs;
mod postgres;
mod read_only;
mod simulate;
mod transports;
mod upkeep;

use std::net::TcpListener;
use std::path::PathBuf;
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
