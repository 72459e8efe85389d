//! How a PostgreSQL test stops pingate at a commit and knows who queued
//! behind it, without sleeping on a guess: it holds pingate's audit lock
//! (every commit that writes audit events takes it last), and watches
//! `pg_locks` for sessions of this test's database waiting on advisory
//! locks.

use std::time::Duration;

use sqlx::{Connection, PgConnection};

use super::app::TestApp;

pub struct AuditLockHolder {
    holder: PgConnection,
    watcher: PgConnection,
}

impl AuditLockHolder {
    /// Takes the audit lock (session-level; it conflicts with pingate's
    /// transaction-level requests for the same key).
    pub async fn take(app: &TestApp) -> AuditLockHolder {
        let url = app.settings.database.url.expose();
        let mut holder = PgConnection::connect(url).await.expect("connect");
        let watcher = PgConnection::connect(url).await.expect("connect");
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(pingate::store::AUDIT_LOCK_KEY)
            .execute(&mut holder)
            .await
            .expect("take the audit lock");
        AuditLockHolder { holder, watcher }
    }

    /// Returns once `n` sessions wait for an advisory lock in this test's
    /// database; panics after 20 s.
    pub async fn until_waiting(&mut self, n: i64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            .fetch_one(&mut self.watcher)
            .await
            .expect("pg_locks");
            if waiting >= n {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{waiting} sessions wait for an advisory lock, not {n}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Lets the commits queued behind the lock go.
    pub async fn release(mut self) {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(pingate::store::AUDIT_LOCK_KEY)
            .execute(&mut self.holder)
            .await
            .expect("release the audit lock");
    }
}
