//! `Store::write` and `Store::write_one`: a write given as a job, which
//! the group-commit writer runs itself (see `group`), or which runs in a
//! transaction of its own when grouping is off.

use futures_util::future::BoxFuture;
use tracing::Instrument;

use super::{Store, StoreError, WriteTx, group};
use crate::clock::Millis;

impl Store {
    /// Runs `job` as one write acting at `now` and returns what it
    /// returned once its changes are durable; an `Err` from the job
    /// changes nothing. With group commit on, the job runs on the writer
    /// itself, inside the next group (under its own savepoint), so its
    /// statements make no other hand-off: the hot path's writes use this.
    /// The job must not wait on anything but its own statements.
    pub async fn write<T, E, F>(&self, now: Millis, job: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut WriteTx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.write_as(now, group::Changes::Many, job).await
    }

    /// `write` for a job that changes the database with one statement at
    /// most and cannot fail once that statement has succeeded (the voice
    /// webhook's insert; a read before or after it is fine). On SQLite
    /// such a job runs without a savepoint, since SQLite undoes a failed
    /// statement by itself: that saves a round trip to the connection's
    /// thread, which cost a grouped webhook more than its insert did
    /// (docs/operating.md, "Where the writer's time goes"). If such a job
    /// panics, its whole group is rolled back and every member told so.
    pub async fn write_one<T, E, F>(&self, now: Millis, job: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut WriteTx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.write_as(now, group::Changes::One, job).await
    }

    async fn write_as<T, E, F>(&self, now: Millis, changes: group::Changes, job: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut WriteTx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if self.group_commit.is_off() {
            let mut tx = self.begin(now).await?;
            let value = job(&mut tx).await?;
            tx.commit().await?;
            return Ok(value);
        }
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<T, E>>();
        // The job's statements log under the request that asked for it.
        let span = tracing::Span::current();
        let run = group::job_fn(move |write| match write {
            Err(cause) => {
                let _ = reply.send(Err(cause.into()));
                Box::pin(async { group::Settle::Undo(Box::new(|| ())) })
            }
            Ok(write) => Box::pin(async move { settle(job(write).await, reply) }.instrument(span)),
        });
        self.writer().run(group::Job {
            now,
            changes,
            run: Box::new(run),
        })?;
        answer.await.unwrap_or_else(|_| Err(write_lost().into()))
    }
}

/// A job's answer never came: it panicked (the writer rolled it back and
/// went on) or the writer itself stopped.
fn write_lost() -> StoreError {
    StoreError::Setup(
        "the write was lost before it committed (it panicked, or the database writer stopped)"
            .into(),
    )
}

/// What the writer does with a job's result: keeps its changes and hands
/// the value over once they are durable, or rolls it back and hands over
/// its error.
fn settle<T, E>(
    result: Result<T, E>,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
) -> group::Settle
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    match result {
        Ok(value) => group::Settle::Keep(Box::new(move |durable| {
            let _ = reply.send(durable.map(|()| value).map_err(E::from));
        })),
        Err(e) => group::Settle::Undo(Box::new(move || {
            let _ = reply.send(Err(e));
        })),
    }
}
