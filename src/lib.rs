//! pingate: a telephony and PIN verification gateway for phone-support
//! desks. This file wires the pieces: state, router, workers, and the
//! running server that `main.rs` and the integration tests start.

pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod config_check;
pub mod console;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod hash_gate;
pub mod http;
pub mod ids;
pub mod ivr;
pub mod keys;
pub mod net;
pub mod private_fs;
pub mod providers;
pub mod service;
pub mod shield;
pub mod startup_log;
pub mod store;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::app::{AppState, BuildError};
use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::worker::Worker;
use crate::domain::org::Channel;

/// The process-wide Prometheus recorder (one per process, however many
/// servers a test starts).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

fn fallback_hook(state: Arc<AppState>) -> crate::delivery::worker::PinFailedHook {
    Arc::new(move |challenge_id: String, channel: Channel| {
        let state = Arc::clone(&state);
        Box::pin(
            async move { service::resend::auto_fallback(&state, &challenge_id, channel).await },
        )
    })
}

/// The span a background job runs in: its log lines (and its statements)
/// carry `background{job=...}`, so an operator can tell them from a
/// request's.
fn job_span(job: &'static str) -> tracing::Span {
    tracing::info_span!("background", job)
}

/// A server running in this process.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    /// Sent when the grace period ends: requests still running are cut short.
    hard_stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    worker: JoinHandle<()>,
    checkpointer: JoinHandle<()>,
    retention: JoinHandle<()>,
    failure_audit: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish (bounded), stops
    /// the outbox worker, the audit checkpointer, the expiry sweeper and
    /// the retention job, writes the folded failure counts and closes the
    /// database.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.shutdown_within(http::SHUTDOWN_GRACE).await
    }

    /// [`RunningServer::shutdown`] with a given grace period for requests
    /// in flight; those still running when it ends are answered 503 and
    /// logged as cut short.
    pub async fn shutdown_within(self, grace: Duration) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.state.stopping.send_replace(true);
        let mut server = self.server;
        let served = match tokio::time::timeout(grace, &mut server).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(std::io::Error::other(e)),
            Err(_) => {
                tracing::warn!(
                    grace_ms = grace.as_millis() as u64,
                    "shutdown grace period ended with requests in flight; cutting them short"
                );
                let _ = self.hard_stop.send(true);
                match tokio::time::timeout(Duration::from_secs(2), server).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(e)) => Err(std::io::Error::other(e)),
                    Err(_) => Ok(()),
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), self.worker).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.checkpointer).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.retention).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.failure_audit).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.sweeper).await;
        self.state.store.close().await;
        served
    }
}

/// Builds the application from settings and serves it on `listener`.
pub async fn start(
    settings: Settings,
    clock: Arc<dyn Clock>,
    listener: TcpListener,
) -> Result<RunningServer, BuildError> {
    let state = AppState::build(settings, clock, metrics_handle()).await?;
    start_with_state(state, listener).await
}

pub async fn start_with_state(
    state: Arc<AppState>,
    listener: TcpListener,
) -> Result<RunningServer, BuildError> {
    let addr = listener.local_addr().map_err(BuildError::Listener)?;
    let (shutdown, rx) = watch::channel(false);
    let d = &state.settings.delivery;
    let worker = Worker {
        store: state.store.clone(),
        clock: Arc::clone(&state.clock),
        sealer: state.sealer.clone(),
        senders: Arc::clone(&state.senders),
        wake: Arc::clone(&state.outbox_wake),
        backoff_base_ms: d.backoff_base.0.as_millis() as i64,
        backoff_cap_ms: d.backoff_cap.0.as_millis() as i64,
        max_attempts: i64::from(d.max_attempts),
        lease_ms: d.lease.0.as_millis() as i64,
        poll: d.poll_interval.0,
        on_pin_failed: Some(fallback_hook(Arc::clone(&state))),
    };
    let worker = tokio::spawn(worker.run(rx.clone()).instrument(job_span("outbox")));
    let checkpointer = tokio::spawn(
        service::checkpointer::run(Arc::clone(&state), rx.clone())
            .instrument(job_span("checkpointer")),
    );
    let retention = tokio::spawn(
        service::retention::job(Arc::clone(&state), rx.clone()).instrument(job_span("retention")),
    );
    let failure_audit = tokio::spawn(
        shield::failure_audit::run(
            Arc::clone(&state.shield),
            state.store.clone(),
            Arc::clone(&state.clock),
            rx.clone(),
        )
        .instrument(job_span("failure_audit")),
    );
    let sweeper = tokio::spawn(
        service::sweeper::run(Arc::clone(&state), rx.clone()).instrument(job_span("sweeper")),
    );
    let (hard_stop, hard_rx) = watch::channel(false);
    let app = http::router(Arc::clone(&state), hard_rx);
    let mut rx_server = rx;
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx_server.wait_for(|stop| *stop).await;
        })
        .await
    });
    tracing::info!(
        %addr,
        public_base_url = %state.settings.server.public_base_url,
        "pingate listening"
    );
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        hard_stop,
        server,
        worker,
        checkpointer,
        retention,
        failure_audit,
        sweeper,
    })
}
