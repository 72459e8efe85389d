//! Group commit: the single writer of an instance runs every write that is
//! waiting in one transaction, each under its own SAVEPOINT, appends the
//! audit events of the members that finished (in member order, under the
//! chain lock, taken once per group), commits once, and only then answers
//! each member. A member that fails or is abandoned is rolled back to its
//! savepoint alone; the group goes on without it.
//!
//! Every statement is a round trip to the connection's thread, so the
//! savepoints cost as few as they can: one member's RELEASE goes with the
//! next one's SAVEPOINT, and the first member on SQLite has none (rolling
//! it back is rolling back the transaction, which then begins again).
//! The writer remembers the chain's head from its last group, so the next
//! one need not read it (the append checks it in its INSERT). On SQLite a
//! job of one statement (`Store::write_one`, the voice webhook) has no
//! savepoint at all: SQLite undoes a failed statement by itself, and that
//! round trip was the biggest cost of a grouped webhook.
//!
//! A member is one of two kinds. A job (`Store::write`) runs on the
//! writer's own task: its statements go from the writer to the connection
//! and back with no other hand-off, so the writer's turn per member is
//! as short as the member's statements. A lease (`Store::begin`) lends
//! the transaction to the member's own task, which runs its statements
//! there, and it comes back through a channel, also when the member's
//! future is dropped, so the writer never waits on a member that is gone;
//! each turn then crosses between tasks twice more.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::wal::Wal;
use super::{AUDIT_LOCK_KEY, Backend, StoreError, StoreResult, WriteTx, audit};
use crate::audit::event::NewEvent;
use crate::clock::Clock;

mod job;
mod members;

pub(super) use job::{Answer, Changes, Job, Settle, Tell, job_fn};
use members::{
    Finished, Members, refuse_held, release_held, roll_back_member, still_in_transaction,
};

/// How many writes one group may hold and how long the writer waits for
/// another once the queue is empty (zero: a lone write is never delayed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    pub max: usize,
    pub wait: Duration,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            max: 64,
            wait: Duration::ZERO,
        }
    }
}

impl GroupCommit {
    /// One write per transaction: no writer task, each write begins its own.
    pub fn is_off(&self) -> bool {
        self.max <= 1
    }
}

/// What the writer has done so far, for `/metrics` and for tests that
/// check writes were grouped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    /// Groups that committed.
    pub groups: u64,
    /// Writes served in those groups (finished or rolled back alone).
    pub members: u64,
    /// Writes queued for a turn right now.
    pub waiting: u64,
}

#[derive(Default)]
struct Counters {
    groups: AtomicU64,
    members: AtomicU64,
    waiting: AtomicU64,
}

/// A write asking to join the next group.
pub(super) enum Join {
    /// Lend it the transaction (`Store::begin`).
    Lend(oneshot::Sender<StoreResult<Lease>>),
    /// Run it here, on the writer (`Store::write`).
    Run(Job),
}

/// The group's transaction, lent to one member while it runs.
pub(super) struct Lease {
    pub(super) tx: Transaction<'static, Any>,
    back: oneshot::Sender<Returned>,
}

/// What a member hands back with the transaction.
enum Returned {
    /// Finished: keep its changes, append its events, answer after COMMIT.
    Done {
        tx: Transaction<'static, Any>,
        events: Vec<NewEvent>,
        answer: Answer,
    },
    /// Dropped without commit (an error, an early return, a cancelled
    /// request, a job that failed or panicked): roll back to its
    /// savepoint, then tell it (a job's own error) if it still listens.
    Abandoned(Transaction<'static, Any>, Option<Tell>),
}

impl Lease {
    /// Hands the transaction back as finished and waits until the group
    /// that holds this member's changes is durable.
    pub(super) async fn finish(self, events: Vec<NewEvent>) -> StoreResult<()> {
        let (answer, answered) = oneshot::channel();
        let done = Returned::Done {
            tx: self.tx,
            events,
            answer: Box::new(move |durable| {
                let _ = answer.send(durable);
            }),
        };
        if self.back.send(done).is_err() {
            return Err(writer_gone());
        }
        answered.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// Hands the transaction back unfinished (from `Drop`: no await).
    pub(super) fn abandon(self) {
        // A writer that is gone has dropped the transaction: rolled back.
        let _ = self.back.send(Returned::Abandoned(self.tx, None));
    }
}

fn writer_gone() -> StoreError {
    StoreError::Setup("the database writer has stopped".into())
}

/// The handle every `Store` clone shares; the writer task ends when the
/// last one is dropped.
#[derive(Clone)]
pub(super) struct Writer {
    joins: mpsc::UnboundedSender<Join>,
    counters: Arc<Counters>,
}

impl Writer {
    /// `wal` hears of every group that commits (SQLite).
    pub(super) fn spawn(
        pool: AnyPool,
        wal: Option<Wal>,
        backend: Backend,
        clock: Arc<dyn Clock>,
        config: GroupCommit,
    ) -> Writer {
        let (joins, queue) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let task = Task {
            pool,
            backend,
            clock,
            config,
            queue,
            counters: Arc::clone(&counters),
            head: None,
            wal,
        };
        match backend {
            Backend::Sqlite => {
                // Without its thread the queue is closed: every write then
                // fails with "the database writer has stopped".
                if let Err(e) = spawn_on_own_thread(task) {
                    tracing::error!(error = %e, "no database writer");
                }
            }
            Backend::Postgres => {
                tokio::spawn(task.run());
            }
        }
        Writer { joins, counters }
    }

    /// Waits for this write's turn in a group and borrows the transaction.
    pub(super) async fn join(&self) -> StoreResult<Lease> {
        let (reply, lease) = oneshot::channel();
        self.enqueue(Join::Lend(reply))?;
        lease.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// Queues a job for the writer to run in its next group; the job
    /// tells its caller how it went.
    pub(super) fn run(&self, job: Job) -> StoreResult<()> {
        self.enqueue(Join::Run(job))
    }

    fn enqueue(&self, join: Join) -> StoreResult<()> {
        self.counters.waiting.fetch_add(1, Ordering::Relaxed);
        if self.joins.send(join).is_err() {
            self.counters.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(writer_gone());
        }
        Ok(())
    }

    pub(super) fn stats(&self) -> GroupStats {
        GroupStats {
            groups: self.counters.groups.load(Ordering::Relaxed),
            members: self.counters.members.load(Ordering::Relaxed),
            waiting: self.counters.waiting.load(Ordering::Relaxed),
        }
    }
}

/// The SQLite writer runs on a thread and runtime of its own: a group's
/// statements then go between this thread and SQLite's and back, never
/// queued behind the HTTP tasks on the shared workers. (PostgreSQL's
/// connections belong to the main runtime's reactor; its writer stays
/// there.) The thread ends with the task, when the last `Store` is gone.
fn spawn_on_own_thread(task: Task) -> StoreResult<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Setup(format!("cannot start the database writer: {e}")))?;
    std::thread::Builder::new()
        .name("pingate-writer".into())
        .spawn(move || runtime.block_on(task.run()))
        .map_err(|e| StoreError::Setup(format!("cannot start the database writer: {e}")))?;
    Ok(())
}

struct Task {
    pool: AnyPool,
    backend: Backend,
    clock: Arc<dyn Clock>,
    config: GroupCommit,
    queue: mpsc::UnboundedReceiver<Join>,
    counters: Arc<Counters>,
    /// The chain's head as the last group left it (checked, not trusted:
    /// see `audit::append_after`).
    head: Option<audit::Head>,
    wal: Option<Wal>,
}

impl Task {
    async fn run(mut self) {
        while let Some(first) = self.queue.recv().await {
            self.counters.waiting.fetch_sub(1, Ordering::Relaxed);
            let tx = match self.begin().await {
                Ok(tx) => tx,
                Err(e) => {
                    first.refuse(e);
                    continue;
                }
            };
            if !self.group(tx, first).await {
                self.renew_connection().await;
            }
        }
    }

    /// After a group failed, the writer's connection may still believe it
    /// is in a transaction: when SQLite rolled one back by itself (a full
    /// disk, an I/O error), sqlx's own ROLLBACK then fails and leaves it
    /// so, and every later BEGIN would be refused. The writer closes it;
    /// the pool opens a fresh one for the next group.
    async fn renew_connection(&self) {
        let closed = match self.pool.acquire().await {
            Ok(conn) => conn.close().await,
            Err(e) => Err(e),
        };
        if let Err(e) = closed {
            tracing::warn!(error = %e, "could not close the writer's connection after a failed group");
        }
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match self.backend {
            // IMMEDIATE takes the write lock up front, so another process
            // (the CLI) makes us wait on busy_timeout instead of failing.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Serves members one after another until the queue is empty (after
    /// the configured wait) or the group is full, then commits; false if
    /// the group failed.
    async fn group(&mut self, mut tx: Transaction<'static, Any>, first: Join) -> bool {
        let mut members = Members::default();
        let mut next = Some(first);
        let mut served: u64 = 0;
        while let Some(join) = next.take() {
            served += 1;
            tx = match self.serve(tx, join, &mut members).await {
                Ok(tx) => tx,
                Err(e) => return fail(members.all(), &e),
            };
            if served < self.config.max as u64 {
                next = self.next_member().await;
            }
        }
        if let Err(e) = release_held(&mut tx, &mut members).await {
            return fail(members.all(), &e);
        }
        let mut finished = members.finished;
        if let Err(e) = self.commit(tx, &mut finished).await {
            return fail(finished, &e);
        }
        self.counters.groups.fetch_add(1, Ordering::Relaxed);
        self.counters.members.fetch_add(served, Ordering::Relaxed);
        for member in finished {
            (member.answer)(Ok(()));
        }
        metrics::histogram!("pingate_group_commit_size").record(served as f64);
        true
    }

    /// Runs one member (here, or lent to its task) and takes the
    /// transaction back. An error here leaves the transaction unusable:
    /// the group fails.
    async fn serve(
        &self,
        mut tx: Transaction<'static, Any>,
        join: Join,
        members: &mut Members,
    ) -> StoreResult<Transaction<'static, Any>> {
        let needed = join.needs_savepoint(self.backend);
        let savepoint = match self.open_savepoint(&mut tx, members, needed).await {
            Ok(savepoint) => savepoint,
            Err(e) => {
                join.refuse(StoreError::GroupFailed(e.to_string()));
                return Err(e);
            }
        };
        let returned = match join {
            Join::Lend(reply) => lend(tx, reply).await?,
            Join::Run(job) => self.run_job(tx, job).await?,
        };
        match returned {
            Returned::Done { tx, events, answer } => {
                let member = Finished { events, answer };
                if savepoint {
                    // Released with the next member's SAVEPOINT, or before
                    // the group commits.
                    members.held = Some(member);
                } else {
                    members.finished.push(member);
                }
                Ok(tx)
            }
            Returned::Abandoned(mut tx, tell) => {
                let tx = if savepoint {
                    roll_back_member(tx).await
                } else if members.is_empty() {
                    // The transaction held nothing before this member: all
                    // of it goes, and the next member starts a fresh one.
                    match tx.rollback().await {
                        Ok(()) => self.begin().await,
                        Err(e) => Err(e.into()),
                    }
                } else if tell.is_some() {
                    // A one-statement job's own error (`Changes::One`).
                    still_in_transaction(&mut tx).await.map(|()| tx)
                } else {
                    // One that panicked may have changed anything: the
                    // group goes with it.
                    Err(StoreError::Setup(
                        "a write without a savepoint was lost; its group is rolled back".into(),
                    ))
                };
                // Its own error, whether or not the group can go on.
                if let Some(tell) = tell {
                    tell();
                }
                tx
            }
        }
    }

    /// Runs a job on this task. A job that panics is rolled back like one
    /// that failed (its caller hears that the writer lost it); the writer
    /// goes on.
    async fn run_job(&self, tx: Transaction<'static, Any>, job: Job) -> StoreResult<Returned> {
        let mut write = WriteTx::in_group(tx, job.now, self.backend, Arc::clone(&self.clock));
        let settled = AssertUnwindSafe((job.run)(Ok(&mut write)))
            .catch_unwind()
            .await;
        let (tx, events) = write.into_group_parts().ok_or_else(writer_lost)?;
        Ok(match settled {
            Ok(Settle::Keep(answer)) => Returned::Done { tx, events, answer },
            Ok(Settle::Undo(tell)) => Returned::Abandoned(tx, Some(tell)),
            Err(_) => {
                tracing::error!("a write panicked on the writer; it was rolled back");
                Returned::Abandoned(tx, None)
            }
        })
    }

    /// Opens the savepoint this member can be rolled back to, releasing
    /// the previous member's in the same round trip; true if one is open.
    /// The group's first member on SQLite needs none: rolling it back is
    /// rolling back the transaction; nor does a one-statement job there.
    /// (On PostgreSQL a failed statement poisons the transaction, and only
    /// a savepoint's RELEASE tells so.)
    async fn open_savepoint(
        &self,
        tx: &mut Transaction<'static, Any>,
        members: &mut Members,
        needed: bool,
    ) -> StoreResult<bool> {
        if !needed {
            release_held(tx, members).await?;
            return Ok(false);
        }
        let Some(held) = members.held.take() else {
            if members.finished.is_empty() && self.backend == Backend::Sqlite {
                return Ok(false);
            }
            sqlx::query("SAVEPOINT member").execute(&mut **tx).await?;
            return Ok(true);
        };
        match sqlx::raw_sql("RELEASE SAVEPOINT member; SAVEPOINT member")
            .execute(&mut **tx)
            .await
        {
            Ok(_) => members.finished.push(held),
            Err(e) => {
                refuse_held(tx, held, e, &mut members.finished).await?;
                sqlx::query("SAVEPOINT member").execute(&mut **tx).await?;
            }
        }
        Ok(true)
    }

    async fn next_member(&mut self) -> Option<Join> {
        let join = match self.queue.try_recv() {
            Ok(join) => Some(join),
            Err(_) if self.config.wait.is_zero() => None,
            Err(_) => tokio::time::timeout(self.config.wait, self.queue.recv())
                .await
                .ok()
                .flatten(),
        };
        if join.is_some() {
            self.counters.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        join
    }

    /// Appends every finished member's events, in member order, under the
    /// chain lock (the last lock the group takes), and commits.
    async fn commit(
        &mut self,
        mut tx: Transaction<'static, Any>,
        finished: &mut [Finished],
    ) -> StoreResult<()> {
        let events: Vec<NewEvent> = finished
            .iter_mut()
            .flat_map(|m| std::mem::take(&mut m.events))
            .collect();
        // Forgotten until this group is durable: a group that fails leaves
        // the head where it was.
        let mut head = self.head.take();
        if !events.is_empty() {
            if self.backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(AUDIT_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
            }
            let at = self.clock.now_ms();
            head = Some(audit::append_after(&mut tx, at, events, head).await?);
        }
        tx.commit().await?;
        self.head = head;
        if let Some(wal) = &self.wal {
            wal.committed();
        }
        Ok(())
    }
}

fn writer_lost() -> StoreError {
    StoreError::Setup("a write lost the group's transaction".into())
}

/// The group could not commit: nothing of it is durable, and every member
/// that waited for it hears so (the transaction rolls back on drop).
fn fail(finished: Vec<Finished>, cause: &StoreError) -> bool {
    tracing::error!(error = %cause, members = finished.len(), "group commit failed");
    for member in finished {
        (member.answer)(Err(StoreError::GroupFailed(cause.to_string())));
    }
    false
}

impl Join {
    /// Whether the member needs a savepoint of its own to be undone alone.
    fn needs_savepoint(&self, backend: Backend) -> bool {
        match self {
            Join::Run(job) => job.changes == Changes::Many || backend == Backend::Postgres,
            Join::Lend(_) => true,
        }
    }

    /// The write cannot be served (its group could not begin or go on):
    /// it is told why.
    fn refuse(self, cause: StoreError) {
        match self {
            Join::Lend(reply) => {
                let _ = reply.send(Err(cause));
            }
            Join::Run(job) => job.refuse(cause),
        }
    }
}

/// Lends the transaction to a member's task and waits for it back.
async fn lend(
    tx: Transaction<'static, Any>,
    reply: oneshot::Sender<StoreResult<Lease>>,
) -> StoreResult<Returned> {
    let (back, returned) = oneshot::channel();
    match reply.send(Ok(Lease { tx, back })) {
        Ok(()) => returned.await.map_err(|_| writer_lost()),
        // The member stopped waiting: it never ran.
        Err(Ok(lease)) => Ok(Returned::Abandoned(lease.tx, None)),
        Err(Err(_)) => Err(writer_lost()),
    }
}
