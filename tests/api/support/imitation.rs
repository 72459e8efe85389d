//! What the imitations of the providers' messaging APIs share: a router
//! served on 127.0.0.1 until dropped, and the messages it accepted, in
//! order, with a way to wait for them without sleeping.

use std::fmt::Debug;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A router on a random loopback port; stops when dropped.
pub struct Served {
    port: u16,
    task: JoinHandle<()>,
}

impl Served {
    pub async fn start(app: Router, what: &'static str) -> Served {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|e| panic!("bind the {what} imitation: {e}"));
        let port = listener.local_addr().expect("local address").port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .unwrap_or_else(|e| panic!("the {what} imitation failed: {e}"));
        });
        Served { port, task }
    }

    /// To be configured as the provider's `api_base_url`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The messages an imitation accepted.
pub struct Inbox<T> {
    sent: Mutex<Vec<T>>,
    accepted: watch::Sender<usize>,
}

impl<T: Clone + Debug> Inbox<T> {
    pub fn new() -> Inbox<T> {
        Inbox {
            sent: Mutex::new(Vec::new()),
            accepted: watch::Sender::new(0),
        }
    }

    pub fn push(&self, message: T) {
        let count = {
            let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
            sent.push(message);
            sent.len()
        };
        self.accepted.send_replace(count);
    }

    pub fn all(&self) -> Vec<T> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until `n` messages were accepted; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration, what: &str) -> Vec<T> {
        let mut accepted = self.accepted.subscribe();
        let arrived = matches!(
            tokio::time::timeout(timeout, accepted.wait_for(|c| *c >= n)).await,
            Ok(Ok(_))
        );
        let sent = self.all();
        assert!(
            arrived,
            "expected {n} SMS at the {what} imitation, got {sent:#?}"
        );
        sent
    }
}
