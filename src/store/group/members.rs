//! The members a group has served so far, and how one is kept (its
//! savepoint released) or undone alone.

use sqlx::{Any, Transaction};

use super::Answer;
use crate::audit::event::NewEvent;
use crate::store::{StoreError, StoreResult};

/// A member whose changes wait for the group's COMMIT.
pub(super) struct Finished {
    pub(super) events: Vec<NewEvent>,
    pub(super) answer: Answer,
}

/// The members a group has served so far.
#[derive(Default)]
pub(super) struct Members {
    /// Finished, their savepoint released (or never needed).
    pub(super) finished: Vec<Finished>,
    /// Finished, its savepoint not yet released.
    pub(super) held: Option<Finished>,
}

impl Members {
    pub(super) fn is_empty(&self) -> bool {
        self.finished.is_empty() && self.held.is_none()
    }

    /// Every member whose changes are still in the transaction.
    pub(super) fn all(mut self) -> Vec<Finished> {
        self.finished.extend(self.held);
        self.finished
    }
}

/// Releases the last member's savepoint before the group commits.
pub(super) async fn release_held(
    tx: &mut Transaction<'static, Any>,
    members: &mut Members,
) -> StoreResult<()> {
    let Some(held) = members.held.take() else {
        return Ok(());
    };
    match sqlx::query("RELEASE SAVEPOINT member")
        .execute(&mut **tx)
        .await
    {
        Ok(_) => {
            members.finished.push(held);
            Ok(())
        }
        Err(e) => refuse_held(tx, held, e, &mut members.finished).await,
    }
}

/// The held member's savepoint would not release: a member that went on
/// after a failed statement (PostgreSQL refuses the release). It alone is
/// rolled back and told; if even that fails, it shares the group's fate.
pub(super) async fn refuse_held(
    tx: &mut Transaction<'static, Any>,
    held: Finished,
    cause: sqlx::Error,
    finished: &mut Vec<Finished>,
) -> StoreResult<()> {
    match undo_member(tx).await {
        Ok(()) => {
            (held.answer)(Err(cause.into()));
            Ok(())
        }
        Err(e) => {
            finished.push(held);
            Err(e)
        }
    }
}

pub(super) async fn roll_back_member(
    mut tx: Transaction<'static, Any>,
) -> StoreResult<Transaction<'static, Any>> {
    undo_member(&mut tx).await?;
    Ok(tx)
}

/// A one-statement job failed without a savepoint: SQLite has undone its
/// failed statement by itself, unless the error rolled back the whole
/// transaction (a full disk, an I/O error, out of memory: see "Response
/// To Errors Within A Transaction" in SQLite's documentation). Then the
/// group's earlier members are gone and the group must fail, not go on
/// outside a transaction. BEGIN tells which: inside one SQLite refuses it.
/// (A failure path only: the round trip costs nothing on the hot path.)
pub(super) async fn still_in_transaction(tx: &mut Transaction<'static, Any>) -> StoreResult<()> {
    match sqlx::query("BEGIN").execute(&mut **tx).await {
        Err(sqlx::Error::Database(e)) if e.message().contains("within a transaction") => Ok(()),
        Ok(_) => {
            // The BEGIN opened a new transaction: it holds nothing.
            let _ = sqlx::query("ROLLBACK").execute(&mut **tx).await;
            Err(StoreError::Setup(
                "SQLite rolled the group's transaction back after a failed write".into(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Undoes the member since its savepoint, in one round trip.
async fn undo_member(tx: &mut Transaction<'static, Any>) -> StoreResult<()> {
    sqlx::raw_sql("ROLLBACK TO SAVEPOINT member; RELEASE SAVEPOINT member")
        .execute(&mut **tx)
        .await?;
    Ok(())
}
