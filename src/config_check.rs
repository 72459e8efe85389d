//! `pingate config check`: what a start would trip over, found without
//! starting, all at once: the configuration itself, `PINGATE_LOG`, the
//! secrets instances on one PostgreSQL must share, a file transport on a
//! public listener, and whether the database can be reached.

use std::fmt;
use std::io::Write;

use crate::config::{ConfigError, Loaded, Problem, Settings};
use crate::store::{Store, StoreError};

/// One thing `config check` refuses.
#[derive(Debug)]
pub enum Finding {
    Config(ConfigError),
    Problem(Problem),
    Database(StoreError),
    /// The verdict could not be written (a closed pipe, a full disk).
    Output(std::io::Error),
}

/// Everything found, printed as one list.
#[derive(Debug, thiserror::Error)]
pub struct CheckFailed(pub Vec<Finding>);

impl fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = Vec::new();
        for finding in &self.0 {
            match finding {
                Finding::Config(ConfigError::Invalid(ps)) => {
                    lines.extend(ps.iter().map(ToString::to_string))
                }
                Finding::Config(e) => lines.push(e.to_string()),
                Finding::Problem(p) => lines.push(p.to_string()),
                Finding::Database(e) => lines.push(e.to_string().replace('\n', "\n    ")),
                Finding::Output(e) => lines.push(format!("cannot write the verdict: {e}")),
            }
        }
        write!(f, "the configuration has {} problem(s):", lines.len())?;
        for line in lines {
            write!(f, "\n  - {line}")?;
        }
        Ok(())
    }
}

/// Checks and prints the verdict; `dev` accepts a file transport on a
/// listener that is not loopback, as `serve --dev` does.
pub async fn run(
    loaded: Result<Loaded, ConfigError>,
    dev: bool,
    out: &mut dyn Write,
) -> Result<(), CheckFailed> {
    let mut findings: Vec<Finding> = log_filter_problem()
        .into_iter()
        .map(Finding::Problem)
        .collect();
    let loaded = match loaded {
        Ok(l) => l,
        // A file that cannot be read at all is the whole answer.
        Err(
            e @ (ConfigError::Missing(_)
            | ConfigError::NotAFile(_)
            | ConfigError::Unreadable { .. }),
        ) => {
            return Err(CheckFailed(vec![Finding::Config(e)]));
        }
        Err(e) => {
            findings.insert(0, Finding::Config(e));
            return Err(CheckFailed(findings));
        }
    };
    let s = &loaded.settings;
    let written = |r: std::io::Result<()>| r.map_err(|e| CheckFailed(vec![Finding::Output(e)]));
    written(writeln!(out, "{}", loaded.source()))?;
    findings.extend(s.shared_secret_problems().into_iter().map(Finding::Problem));
    if !dev && let Some(p) = s.exposed_file_transport() {
        findings.push(Finding::Problem(p));
    }
    match database(s).await {
        Ok(line) => written(writeln!(out, "{line}"))?,
        Err(e) => findings.push(Finding::Database(e)),
    }
    if !findings.is_empty() {
        return Err(CheckFailed(findings));
    }
    written(writeln!(out, "configuration is valid"))?;
    for note in s.warnings() {
        written(writeln!(out, "note: {note}"))?;
    }
    written(out.flush())
}

/// `PINGATE_LOG` overrides `log.level`; a filter that does not parse would
/// otherwise be ignored silently at start.
fn log_filter_problem() -> Option<Problem> {
    let value = std::env::var("PINGATE_LOG").ok()?;
    tracing_subscriber::EnvFilter::try_new(&value)
        .is_err()
        .then(|| {
            Problem::value(
                "PINGATE_LOG",
                format!(
                    "must be a log filter such as \"info\" or \"pingate=debug,info\", got {value:?}"
                ),
            )
        })
}

/// Connects (creating nothing) and says what it found.
async fn database(s: &Settings) -> Result<String, StoreError> {
    let url = s.database.url.expose();
    let store = match Store::connect_existing(url, 1).await {
        Ok(store) => store,
        // Not an error: `migrate` or the first `serve` creates it.
        Err(StoreError::Absent(path)) => {
            return Ok(format!(
                "database: {path} does not exist yet; `pingate migrate` or the first `pingate serve` creates it"
            ));
        }
        Err(e) => return Err(e),
    };
    let pending = store.pending_migrations().await;
    store.close().await;
    let place = match crate::store::open::PgTarget::from_url(url) {
        Some(target) if s.is_shared_database() => format!("connected to {target}"),
        _ => format!("{} opened", url.trim_start_matches("sqlite://")),
    };
    Ok(match pending?.len() {
        0 => format!("database: {place}; migrations up to date"),
        n => format!(
            "database: {place}; {n} migration(s) pending (`pingate migrate` or `pingate serve` applies them)"
        ),
    })
}
