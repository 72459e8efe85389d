//! A job: a write the group's writer runs on its own task (see
//! `Store::write`), and how its caller hears how it went.

use futures_util::future::BoxFuture;

use crate::clock::Millis;
use crate::store::{StoreError, StoreResult, WriteTx};

/// A write the writer runs itself, at `now`: given the group's
/// transaction, or the reason there is none (then it only tells its
/// caller).
pub(in crate::store) struct Job {
    pub(in crate::store) now: Millis,
    pub(in crate::store) changes: Changes,
    pub(in crate::store) run: Run,
}

/// What a job may change, which decides whether it needs a savepoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) enum Changes {
    /// Any number of statements: the job runs under its own savepoint.
    Many,
    /// One statement at most, and nothing after it fails (`Store::write_one`).
    /// SQLite undoes a failed statement by itself, so there the job needs
    /// no savepoint; PostgreSQL still needs one (a failed statement
    /// poisons its transaction until the savepoint is rolled back).
    One,
}

/// A job's body, boxed: what the writer calls with the group's
/// transaction (or with why there is none).
pub(in crate::store) type Run =
    Box<dyn for<'t> FnOnce(StoreResult<&'t mut WriteTx>) -> BoxFuture<'t, Settle> + Send>;

/// Lets a closure be a job's `run` (it names the lifetime Rust would not
/// infer from the closure alone).
pub(in crate::store) fn job_fn<F>(run: F) -> F
where
    F: for<'t> FnOnce(StoreResult<&'t mut WriteTx>) -> BoxFuture<'t, Settle> + Send + 'static,
{
    run
}

/// How a job ended, and how its caller is told.
pub(in crate::store) enum Settle {
    /// Keep its changes; tell the caller once the group is durable, or
    /// that it failed.
    Keep(Answer),
    /// Roll it back to its savepoint, then tell the caller its own error.
    Undo(Tell),
}

/// Tells a job's caller its own error, once its changes are undone.
pub(in crate::store) type Tell = Box<dyn FnOnce() + Send>;

/// Tells one member whether the group that holds its changes committed.
pub(in crate::store) type Answer = Box<dyn FnOnce(StoreResult<()>) + Send>;

impl Job {
    pub(super) fn refuse(self, cause: StoreError) {
        // Tells the caller at once; the future has nothing left to do.
        drop((self.run)(Err(cause)));
    }
}
