//! The PostgreSQL side of the test servers: which server the variants
//! use (or why they are skipped), and the scratch databases each test
//! makes for itself and drops when it ends.

/// The PostgreSQL server for tests. PostgreSQL variants are compiled as
/// ignored tests when the build saw no `PINGATE_TEST_DATABASE_URL` (see
/// build.rs), so reaching this without one means the variable was unset
/// after the build: skip, with a line saying so, except under CI, where a
/// variant that does not run is a failure.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("PINGATE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: CI is set but PINGATE_TEST_DATABASE_URL is not; every PostgreSQL variant must run in CI"
            );
            eprintln!(
                "SKIPPED {test} on PostgreSQL: set PINGATE_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"
            );
            None
        }
    }
}

/// Under CI every opt-in variant must really run: fails when CI is set and
/// this build compiled the PostgreSQL variants as ignored.
pub fn assert_ci_runs_postgres_variants() {
    if std::env::var_os("CI").is_some() && !cfg!(pingate_test_postgres) {
        panic!(
            "CI is set but this build saw no PINGATE_TEST_DATABASE_URL: the PostgreSQL variants would be skipped"
        );
    }
}

/// Creates a fresh database on the server named by `base_url`.
pub(super) async fn fresh_postgres_db(base_url: &str) -> (String, String) {
    use sqlx::Connection;
    let name = format!("pingate_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(base_url)
        .await
        .expect("connect to PINGATE_TEST_DATABASE_URL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let (prefix, _) = base_url.rsplit_once('/').expect("URL has a database path");
    (format!("{prefix}/{name}"), name)
}

/// A PostgreSQL database that a test made for itself and that is dropped
/// when the guard goes, also when the test panics (its own thread and
/// runtime, since `Drop` cannot await).
pub struct ScratchDatabase {
    pub url: String,
    server: String,
    name: String,
}

impl ScratchDatabase {
    pub async fn create(server: &str) -> ScratchDatabase {
        let (url, name) = fresh_postgres_db(server).await;
        ScratchDatabase {
            url,
            server: server.to_string(),
            name,
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database")
                .block_on(drop_postgres_db(&server, &name));
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Drops a test database (after the server let go of it).
pub(super) async fn drop_postgres_db(base_url: &str, name: &str) {
    use sqlx::Connection;
    let dropped = async {
        let mut admin = sqlx::PgConnection::connect(base_url).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
    }
    .await;
    if let Err(e) = dropped {
        eprintln!("could not drop test database {name}: {e}");
    }
}
