//! SQLite's WAL checkpoints, kept off the writer. A connection that commits
//! past `wal_autocheckpoint` pages copies the log into the database file
//! itself, and that commit waits for it (tens of milliseconds under load,
//! with every request of the next group waiting too). So the writer's
//! connection checkpoints only as a backstop, at [`WRITER_AUTOCHECKPOINT`]
//! pages, and a background task runs a PASSIVE checkpoint on a reader
//! connection soon after writes commit (grouped or each alone): it copies
//! what no reader still needs and never blocks the writer.

use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::mpsc;
use tracing::Instrument;

/// How long after a commit the log is checkpointed: commits that land
/// meanwhile share the checkpoint.
const AFTER: Duration = Duration::from_millis(100);

/// Pages (4 KiB) the writer's log may grow to before the writer checkpoints
/// it itself: far above what [`AFTER`] lets pile up, so it happens only when
/// the task cannot run or a long read holds old pages.
pub(crate) const WRITER_AUTOCHECKPOINT: u32 = 10_000;

/// Tells the checkpoint task that a write committed. Every clone of the
/// store holds one; the task ends once the last is gone or the store is
/// closed.
#[derive(Clone)]
pub(super) struct Wal {
    committed: mpsc::Sender<()>,
}

impl Wal {
    /// Starts the task that checkpoints on `read`, a reader pool.
    pub(super) fn start(read: &AnyPool) -> Wal {
        // One slot: a commit while one is pending adds nothing to do.
        let (committed, pending) = mpsc::channel(1);
        tokio::spawn(
            checkpoints(read.clone(), pending).instrument(
                tracing::info_span!(parent: None, "background", job = "wal_checkpoint"),
            ),
        );
        Wal { committed }
    }

    /// A write committed: a checkpoint follows soon. Never waits.
    pub(super) fn committed(&self) {
        let _ = self.committed.try_send(());
    }
}

/// Checkpoints [`AFTER`] each commit that came since the last checkpoint
/// began, until every `Wal` is gone or the store is closed.
async fn checkpoints(read: AnyPool, mut pending: mpsc::Receiver<()>) {
    while pending.recv().await.is_some() {
        tokio::time::sleep(AFTER).await;
        if read.is_closed() {
            return;
        }
        // Commits from here on wait for the next checkpoint; earlier ones
        // are in this one.
        let _ = pending.try_recv();
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
