//! Argon2 runs on dedicated hashing threads at a lower priority than the
//! webhooks (issue 11): never on the async workers, and at `pin.hash_nice`
//! so the kernel gives a webhook the CPU first.

use reqwest::StatusCode;

use crate::support::app::{Engine, Options, TestApp};

/// The nice value of each thread of this process whose name starts with
/// `prefix` (from /proc: field 19 of the thread's stat line).
fn nice_of_threads(prefix: &str) -> Vec<i64> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let dir = task.expect("task").path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !name.trim_end().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // After the ")" that ends the name: state is field 3, nice field 19.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if let Some(nice) = rest.split_whitespace().nth(16) {
            found.push(nice.parse().expect("nice"));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_checks_hash_on_their_own_threads_at_a_lower_priority() {
    let opts = Options {
        tweak: Box::new(|s| s.pin.hash_nice = 7),
        alone: true,
        ..Options::default()
    };
    let test = "pin_checks_hash_on_their_own_threads_at_a_lower_priority";
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, test, opts).await else {
        return;
    };
    app.import_contoso().await;
    let (_call, challenge_id, pin) = app.pending_pin(1).await;
    let (status, r) = app.check(&challenge_id, &pin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved", "{r}");
    let nice = nice_of_threads("pingate-hash-");
    let threads = app.state().settings.pin.hash_concurrency;
    assert_eq!(
        nice,
        vec![7; threads],
        "the hashing threads and their nice values"
    );
    app.shutdown().await;
}
