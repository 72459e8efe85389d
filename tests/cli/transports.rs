//! The file transports write PINs in clear: never on a listener other
//! than loopback unless the operator says `--dev`.

use super::{Workspace, free_port};

#[tokio::test]
async fn a_file_transport_on_a_public_listener_needs_dev() {
    let ws = Workspace::new();
    let port = free_port();
    let listen = format!("0.0.0.0:{port}");
    let env = [("PINGATE__SERVER__LISTEN", listen.as_str())];
    let run = ws.run_env(&["serve"], &env).refused();
    assert!(run.stderr.contains("email.transport"), "{}", run.stderr);
    assert!(run.stderr.contains("--dev"), "{}", run.stderr);
    assert!(run.stderr.contains("0.0.0.0"), "{}", run.stderr);
    let run = ws.run_env(&["config", "check"], &env).refused();
    assert!(run.stderr.contains("--dev"), "{}", run.stderr);
    ws.run_env(&["config", "check", "--dev"], &env).ok();
    let server = ws.serve(&["serve", "--dev"], &env, port).await;
    let status = server.terminate().await;
    assert!(status.success(), "{status}");
}
