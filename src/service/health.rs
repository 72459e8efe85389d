//! What `/readyz` and `/metrics` say about the database: reachable,
//! migrated, room left on its disk; its size and the age of its oldest rows.

use crate::app::AppState;
use crate::store::maintenance::{self, sqlite_path};

/// Why an instance should not take traffic (empty: ready).
#[derive(Debug, Default)]
pub struct Readiness {
    pub problems: Vec<String>,
    /// Free share of the SQLite database's file system, when known.
    pub disk_free_percent: Option<f64>,
}

pub async fn readiness(state: &AppState) -> Readiness {
    let mut r = Readiness::default();
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        r.problems.push("the database is not reachable".into());
        return r;
    }
    match state.store.migration_status().await {
        Ok(m) if m.up_to_date() => {}
        Ok(m) => r.problems.push(format!(
            "the database needs migrating ({} pending, {} changed, {} failed): run pingate migrate",
            m.pending.len(),
            m.changed.len(),
            m.failed.len()
        )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read the migration ledger");
            r.problems
                .push("the database's migration ledger cannot be read".into());
        }
    }
    if let Some(path) = sqlite_path(state.settings.database.url.expose()) {
        match maintenance::disk_space(&path) {
            Ok((free, total)) if total > 0 => {
                let pct = free as f64 * 100.0 / total as f64;
                r.disk_free_percent = Some(pct);
                let floor = f64::from(state.settings.database.min_free_disk_percent);
                if pct < floor {
                    r.problems.push(format!(
                        "the database's disk is nearly full ({pct:.1}% free, below database.min_free_disk_percent = {floor})"
                    ));
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "readiness: cannot read free disk space"),
        }
    }
    r
}

/// Sets the database gauges; a failed query leaves the last values.
pub async fn record_database_metrics(state: &AppState) {
    if let Ok(size) = state.store.size_bytes().await {
        metrics::gauge!("pingate_database_size_bytes").set(size as f64);
    }
    let now = state.clock.now_ms();
    if let Ok(rows) = state.store.oldest_rows().await {
        for (table, oldest) in rows {
            let age = oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
            metrics::gauge!("pingate_oldest_row_age_seconds", "table" => table).set(age);
        }
    }
}
