//! SQLite's WAL checkpoints, kept off the writer. A connection that commits
//! past `wal_autocheckpoint` pages copies the log into the database file
//! itself, and that commit waits for it (tens of milliseconds under load,
//! with every request of the next group waiting too). So the writer's
//! connection checkpoints only as a backstop, at [`WRITER_AUTOCHECKPOINT`]
//! pages, and this task runs a PASSIVE checkpoint on a reader connection
//! soon after groups commit: it copies what no reader still needs and never
//! blocks the writer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::mpsc::WeakUnboundedSender;

use super::{Counters, Join};

/// How often the log is checkpointed while groups commit.
const EVERY: Duration = Duration::from_millis(100);

/// Pages (4 KiB) the writer's log may grow to before the writer checkpoints
/// it itself: far above what [`EVERY`] lets pile up, so it happens only when
/// this task cannot run or a long read holds old pages.
pub(crate) const WRITER_AUTOCHECKPOINT: u32 = 10_000;

/// Checkpoints after groups committed, until the writer is gone or the
/// store is closed.
pub(super) async fn checkpoints(
    read: AnyPool,
    writer: WeakUnboundedSender<Join>,
    counters: Arc<Counters>,
) {
    let mut ticker = tokio::time::interval(EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = 0;
    loop {
        ticker.tick().await;
        if writer.upgrade().is_none() || read.is_closed() {
            return;
        }
        let groups = counters.groups.load(Ordering::Relaxed);
        if groups == seen {
            continue;
        }
        seen = groups;
        if let Err(e) = sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&read)
            .await
        {
            if read.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed; the writer's own checkpoint is the backstop");
        }
    }
}
