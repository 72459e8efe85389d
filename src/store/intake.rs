//! The voice webhook's intake: new calls that arrive together are stored
//! with one multi-row `INSERT`, as one job on the group-commit writer.
//!
//! Why: every statement is a round trip between the writer's thread and
//! the connection's, and on a busy machine each hop waits for a core. A
//! group of n webhooks took n + 3 statements on the writer; a batch of
//! them takes 4 (BEGIN, the insert, the events, COMMIT), so a group is
//! over sooner and the next one starts sooner (docs/operating.md, "One
//! insert a batch").
//!
//! How: a webhook joins the open batch, or opens one and spawns the task
//! that queues the batch's job; the job takes the batch when the writer
//! runs it, so every call that arrived while it waited its turn goes in
//! with it, and a lone call waits for nobody. The batch is one statement
//! (`Store::write_one`): it stores all its calls or none. A batch that
//! fails is tried again one call a job, so a call that cannot be stored
//! fails alone and the others are stored. Each call is answered only
//! once the group that holds it is durable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::future::join_all;
use tokio::sync::oneshot;
use tracing::Instrument;

use super::calls::{self, CALLS_PER_INSERT, CallRow, NumberMatch};
use super::{Store, StoreError, StoreResult, WriteTx};
use crate::audit::event::NewEvent;
use crate::clock::Millis;
use crate::domain::verification::Verification;

/// A call first heard of: its row as if no org registered its number, its
/// verification if one did, and its `call_received` event without what
/// the insert decides.
pub struct NewCall {
    pub row: CallRow,
    pub if_registered: Verification,
    pub event: NewEvent,
}

/// The stored call, and true if this webhook stored it (false: a replay).
pub type Recorded = StoreResult<(CallRow, bool)>;

type Reply = oneshot::Sender<Recorded>;

/// The batch webhooks are joining now, if any, and its number.
#[derive(Default)]
pub struct Intake {
    open: Mutex<(u64, Option<Arc<Mutex<Batch>>>)>,
    /// Batches whose job has run, and the calls they held.
    batches: AtomicU64,
    batched: AtomicU64,
}

/// What the intake has done so far (for tests that check calls were
/// batched; `/metrics` has `pingate_call_batch_size`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IntakeStats {
    /// Batches whose job ran (stored, or failed and tried one by one).
    pub batches: u64,
    /// Calls those batches held.
    pub calls: u64,
    /// Calls in the open batch, waiting for its job to take them.
    pub waiting: u64,
}

/// Calls waiting for their batch's job to take them, and whom to answer.
#[derive(Default)]
struct Batch {
    calls: Vec<NewCall>,
    replies: Vec<Reply>,
}

/// Why a batch's job stored nothing.
enum BatchError {
    /// The insert failed (SQLite undid it; PostgreSQL rolls back to the
    /// job's savepoint): its calls, to be tried one by one.
    Insert(Vec<NewCall>, StoreError),
    /// The writer refused the job, or the group that held it failed.
    Store(StoreError),
}

impl From<StoreError> for BatchError {
    fn from(e: StoreError) -> Self {
        BatchError::Store(e)
    }
}

impl Store {
    /// Stores a call first heard of at `now`, with its `call_received`
    /// event completed by what the insert found, in one insert with the
    /// calls arriving beside it; or finds the call a replayed webhook
    /// already stored. True if it was new. Answers once it is durable.
    pub async fn record_call(&self, now: Millis, call: NewCall) -> Recorded {
        let (reply, answer) = oneshot::channel();
        let (number, opened) = self.intake.join(call, reply);
        // The batch's statements log under the request that opened it; the
        // others name the batch they joined.
        tracing::debug!(batch = number, "the call joins an insert batch");
        if let Some(batch) = opened {
            let run = run(Arc::clone(&self.intake), self.clone(), now, batch);
            tokio::spawn(run.instrument(tracing::info_span!("call_batch", batch = number)));
        }
        answer.await.unwrap_or_else(|_| Err(lost()))
    }

    pub fn intake_stats(&self) -> IntakeStats {
        let waiting = match &lock(&self.intake.open).1 {
            Some(batch) => lock(batch).calls.len() as u64,
            None => 0,
        };
        IntakeStats {
            batches: self.intake.batches.load(Ordering::Relaxed),
            calls: self.intake.batched.load(Ordering::Relaxed),
            waiting,
        }
    }
}

impl Intake {
    /// Adds the call to the open batch; a new batch (to be run) when none
    /// is open or the open one is full. Returns the batch's number.
    fn join(&self, call: NewCall, reply: Reply) -> (u64, Option<Arc<Mutex<Batch>>>) {
        let mut open = lock(&self.open);
        let (number, batch) = &mut *open;
        if let Some(batch) = batch.as_ref() {
            let mut waiting = lock(batch);
            if waiting.calls.len() < CALLS_PER_INSERT {
                waiting.calls.push(call);
                waiting.replies.push(reply);
                return (*number, None);
            }
        }
        let opened = Arc::new(Mutex::new(Batch {
            calls: vec![call],
            replies: vec![reply],
        }));
        *number += 1;
        *batch = Some(Arc::clone(&opened));
        (*number, Some(opened))
    }

    /// Closes `batch` to newcomers and takes the calls still in it.
    fn close(&self, batch: &Arc<Mutex<Batch>>) -> Vec<NewCall> {
        let mut open = lock(&self.open);
        if open.1.as_ref().is_some_and(|o| Arc::ptr_eq(o, batch)) {
            open.1 = None;
        }
        std::mem::take(&mut lock(batch).calls)
    }
}

/// A poisoned lock only means a panic elsewhere while it was held; what it
/// guards is still whole (every change to it is a push or a take).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lost() -> StoreError {
    StoreError::Setup("the call was lost before it was stored (its batch stopped)".into())
}

/// Queues the batch's job on the writer and answers every call in it. A
/// task of its own: a webhook whose client hangs up must not take the
/// answers of the others with it.
async fn run(intake: Arc<Intake>, store: Store, now: Millis, batch: Arc<Mutex<Batch>>) {
    let (job_intake, job_batch) = (Arc::clone(&intake), Arc::clone(&batch));
    let outcome = store
        .write_one(now, move |tx| {
            Box::pin(async move {
                let calls = job_intake.close(&job_batch);
                job_intake.batches.fetch_add(1, Ordering::Relaxed);
                job_intake
                    .batched
                    .fetch_add(calls.len() as u64, Ordering::Relaxed);
                store_batch(tx, calls).await
            })
        })
        .await;
    // Closed by its job when that ran; if it never ran, closed here.
    drop(intake.close(&batch));
    let replies = std::mem::take(&mut lock(&batch).replies);
    metrics::histogram!("pingate_call_batch_size").record(replies.len() as f64);
    match outcome {
        Ok(recorded) => {
            for (reply, r) in replies.into_iter().zip(recorded) {
                let _ = reply.send(r);
            }
        }
        Err(BatchError::Insert(calls, cause)) => {
            retry_alone(&store, now, calls, replies, cause).await
        }
        Err(BatchError::Store(cause)) => {
            for reply in replies {
                let _ = reply.send(Err(StoreError::GroupFailed(cause.to_string())));
            }
        }
    }
}

/// Stores the batch with one insert, then completes each new call's event
/// and reads each replayed call. Nothing after the insert fails the job
/// (`Store::write_one`): a read that fails is that call's error alone.
async fn store_batch(tx: &mut WriteTx, calls: Vec<NewCall>) -> Result<Vec<Recorded>, BatchError> {
    let inserted = {
        let rows: Vec<(&CallRow, Verification)> =
            calls.iter().map(|c| (&c.row, c.if_registered)).collect();
        calls::insert_all_if_new(tx.conn(), &rows).await
    };
    let stored = match inserted {
        Ok(stored) => stored,
        Err(e) => return Err(BatchError::Insert(calls, e)),
    };
    let mut recorded = Vec::with_capacity(calls.len());
    for (call, stored) in calls.into_iter().zip(stored) {
        recorded.push(match stored {
            Some(found) => Ok((completed(tx, call, found), true)),
            None => replayed(tx, &call.row).await,
        });
    }
    Ok(recorded)
}

/// A failed batch, one call a job, so a call that cannot be stored fails
/// alone (the jobs still share groups). A batch of one already was alone.
async fn retry_alone(
    store: &Store,
    now: Millis,
    calls: Vec<NewCall>,
    replies: Vec<Reply>,
    cause: StoreError,
) {
    if calls.len() <= 1 {
        if let Some(reply) = replies.into_iter().next() {
            let _ = reply.send(Err(cause));
        }
        return;
    }
    tracing::warn!(error = %cause, calls = calls.len(), "a batch of calls failed; storing them one by one");
    let alone = calls.into_iter().map(|call| {
        let store = store.clone();
        async move {
            store
                .write_one(now, move |tx| {
                    Box::pin(async move { record_call(tx, call).await })
                })
                .await
        }
    });
    for (reply, r) in replies.into_iter().zip(join_all(alone).await) {
        let _ = reply.send(r);
    }
}

/// Stores one call, or finds the one a replayed webhook already stored.
///
/// Run by `Store::write_one`: the insert is its only change, and nothing
/// after a successful insert can fail (the read runs only when the insert
/// changed nothing). Keep it so, or run it with `Store::write`.
async fn record_call(tx: &mut WriteTx, call: NewCall) -> Recorded {
    match calls::insert_if_new(tx.conn(), &call.row, call.if_registered).await? {
        Some(found) => Ok((completed(tx, call, found), true)),
        None => replayed(tx, &call.row).await,
    }
}

/// A call the insert stored: the org and verification it found, and its
/// event completed with them.
fn completed(tx: &mut WriteTx, call: NewCall, found: NumberMatch) -> CallRow {
    let NewCall { mut row, event, .. } = call;
    row.org_source = found.org_id.as_ref().map(|_| "number".to_string());
    row.org_id = found.org_id;
    row.verification = found.verification;
    tx.audit(
        event
            .org_opt(row.org_id.clone())
            .call(&row.id)
            .detail("verification", row.verification.as_str()),
    );
    row
}

/// The call a replayed webhook's provider call id already names.
async fn replayed(tx: &mut WriteTx, row: &CallRow) -> Recorded {
    let call = calls::by_provider_id_in(tx.conn(), &row.provider, &row.provider_call_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a replayed call vanished".into()))?;
    Ok((call, false))
}
