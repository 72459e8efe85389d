//! The retention run: what `[retention]` lets go, deleted in small batches
//! (or only counted, for a dry run), with one audit event per run that
//! records the counts. Also the background job every instance runs.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use sqlx::AnyPool;
use tokio::sync::watch;

use super::ServiceResult;
use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::{Millis, rfc3339};
use crate::config::Settings;
use crate::domain::retention::{Cutoffs, Policy};
use crate::store::retention::{self as purge, Purgeable};

/// The actor of the runs the server starts by itself.
pub const JOB_ACTOR: &str = "system:retention";

/// What a run deleted (or, dry, would delete), per table.
#[derive(Debug, Clone)]
pub struct Report {
    pub dry_run: bool,
    pub cutoffs: Cutoffs,
    pub counts: Vec<(Purgeable, u64)>,
    /// Delete statements that removed something (0 for a dry run).
    pub batches: u64,
}

impl Report {
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    pub fn count(&self, what: Purgeable) -> u64 {
        self.counts
            .iter()
            .find(|(p, _)| *p == what)
            .map_or(0, |(_, n)| *n)
    }
}

pub fn policy(settings: &Settings) -> Policy {
    let r = &settings.retention;
    Policy {
        calls: r.calls.0,
        messages: r.messages.0,
        grants: r.grants.0,
        webhook_receipts: r.webhook_receipts.0,
        quota_window: settings.limits.window.0,
    }
}

/// One run. A real run deletes table by table (children first) and then
/// appends one `retention_run` event; a dry run only counts and writes
/// nothing.
pub async fn run(state: &AppState, actor: &str, dry_run: bool) -> ServiceResult<Report> {
    let now = state.clock.now_ms();
    if dry_run {
        return dry_run_on(state.store.reader(), &state.settings, now).await;
    }
    let cutoffs = policy(&state.settings).cutoffs(now);
    let r = &state.settings.retention;
    let mut counts = Vec::with_capacity(Purgeable::ALL.len());
    let mut batches = 0;
    for what in Purgeable::ALL {
        let (n, b) = purge::delete_all(
            &state.store,
            now,
            what,
            &cutoffs,
            r.batch_size,
            r.batch_pause.0,
        )
        .await?;
        batches += b;
        counts.push((what, n));
    }
    let report = Report {
        dry_run,
        cutoffs,
        counts,
        batches,
    };
    let mut tx = state.store.begin(state.clock.now_ms()).await?;
    tx.audit(event(actor, &report));
    tx.commit().await?;
    Ok(report)
}

/// What a run at `now` would delete, read through `pool` alone (the CLI's
/// dry run opens the database read-only).
pub async fn dry_run_on(pool: &AnyPool, settings: &Settings, now: Millis) -> ServiceResult<Report> {
    let cutoffs = policy(settings).cutoffs(now);
    let mut counts = Vec::with_capacity(Purgeable::ALL.len());
    for what in Purgeable::ALL {
        counts.push((what, purge::count(pool, what, &cutoffs).await?));
    }
    Ok(Report {
        dry_run: true,
        cutoffs,
        counts,
        batches: 0,
    })
}

fn event(actor: &str, report: &Report) -> NewEvent {
    let deleted: Map<String, Value> = report
        .counts
        .iter()
        .map(|(p, n)| (p.table().to_string(), json!(n)))
        .collect();
    let c = &report.cutoffs;
    let mut e = NewEvent::new(EventKind::RetentionRun, actor, Outcome::Success);
    e.detail.insert("deleted".into(), Value::Object(deleted));
    e.detail.insert("total".into(), json!(report.total()));
    e.detail.insert("batches".into(), json!(report.batches));
    e.detail.insert(
        "ended_before".into(),
        json!({
            "calls": rfc3339(c.calls),
            "messages": rfc3339(c.messages),
            "grants": rfc3339(c.grants),
            "webhook_receipts": rfc3339(c.webhook_receipts),
            "quota_windows": rfc3339(c.quota_windows),
        }),
    );
    e
}

/// The background job: a run every `retention.interval` (the first one
/// interval after start), until `shutdown`. Several instances may run at
/// once: each deletes what is left and records what it deleted.
pub async fn job(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    if !state.settings.retention.enabled {
        return;
    }
    let every = state.settings.retention.interval.0;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = ticker.tick() => {}
        }
        // A run stops between batches on shutdown; what it deleted is gone
        // and the next run records the rest.
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return,
            result = run(&state, JOB_ACTOR, false) => match result {
                Ok(r) => tracing::info!(deleted = r.total(), batches = r.batches, "retention run"),
                Err(e) => tracing::error!(error = %e, "retention run failed"),
            },
        }
    }
}
