//! `pingate agent add | list | disable | rotate`: principals from the
//! command line. New tokens go to stdout alone, once; what was done goes
//! to stderr, so `TOKEN=$(pingate agent rotate alice)` works.

use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

use super::{CliError, cli_actor, state};
use crate::clock::{Millis, rfc3339};
use crate::config::Settings;
use crate::outln;
use crate::service::{ServiceError, principals};
use crate::store::principals::{PrincipalRow, Role};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Agent,
    Reviewer,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Agent => Role::Agent,
            RoleArg::Reviewer => Role::Reviewer,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create a principal; prints its bearer token alone on stdout, once.
    Add {
        /// The principal's name (letters, digits, '.', '_', '@', '-').
        #[arg(value_name = "NAME")]
        name: String,
        /// What the token may do: agent (calls and PINs), reviewer (the
        /// audit trail) or admin (orgs, lockouts, principals).
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Let the token expire after this long (e.g. 12h, 30d); default never.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires_in: Option<Duration>,
    },
    /// List principals: name, role, status, expiry (never a token).
    List,
    /// Disable a principal: its token stops working at once, on every instance.
    Disable {
        /// The principal's name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Give a principal a new token (printed alone on stdout, once); the old
    /// one stops working at once, on every instance.
    Rotate {
        /// The principal's name.
        #[arg(value_name = "NAME")]
        name: String,
        /// Let the new token expire after this long (e.g. 12h, 30d); default never.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires_in: Option<Duration>,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::config::HumanDuration::parse(s)
        .map(|d| d.0)
        .map_err(|e| e.to_string())
}

fn expiry(now: Millis, expires_in: Option<Duration>) -> Option<Millis> {
    expires_in.map(|d| now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
}

/// The token alone on stdout, then what happened on stderr.
fn print_token(token: &SecretString, said: String) -> Result<(), CliError> {
    outln!("{}", token.expose_secret()).map_err(cannot_write)?;
    eprintln!("{said}; the token above is shown only once");
    Ok(())
}

fn cannot_write(e: std::io::Error) -> CliError {
    CliError(format!("cannot write: {e}"))
}

fn not_found(e: ServiceError) -> CliError {
    match e {
        ServiceError::NotFound(_) => {
            CliError("no principal has that name (see `pingate agent list`)".into())
        }
        other => other.into(),
    }
}

fn expiry_words(at: Option<Millis>) -> String {
    at.map_or(String::new(), |at| format!(", expiring {}", rfc3339(at)))
}

pub async fn run(settings: Settings, cmd: AgentCommand) -> Result<(), CliError> {
    let st = state(settings).await?;
    let now = st.clock.now_ms();
    let actor = cli_actor();
    let done = match cmd {
        AgentCommand::Add {
            name,
            role,
            expires_in,
        } => {
            let role = Role::from(role);
            let at = expiry(now, expires_in);
            match principals::add_expiring(&st, &actor, &name, role, at).await {
                Ok(token) => print_token(
                    &token,
                    format!("created {} {name}{}", role.as_str(), expiry_words(at)),
                ),
                Err(e) => Err(e.into()),
            }
        }
        AgentCommand::List => list(&st, now).await,
        AgentCommand::Disable { name } => match principals::disable(&st, &actor, &name).await {
            Ok(row) => {
                eprintln!("disabled {} {}", row.role.as_str(), row.name);
                Ok(())
            }
            Err(e) => Err(not_found(e)),
        },
        AgentCommand::Rotate { name, expires_in } => {
            let at = expiry(now, expires_in);
            match principals::rotate(&st, &actor, &name, at).await {
                Ok((row, token)) => print_token(
                    &token,
                    format!(
                        "rotated the token of {} {}{}",
                        row.role.as_str(),
                        row.name,
                        expiry_words(at)
                    ),
                ),
                Err(e) => Err(not_found(e)),
            }
        }
    };
    st.store.close().await;
    done
}

fn status(p: &PrincipalRow, now: Millis) -> &'static str {
    if p.disabled_at.is_some() {
        "disabled"
    } else if p.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    }
}

async fn list(st: &crate::app::AppState, now: Millis) -> Result<(), CliError> {
    let mut after: Option<String> = None;
    let mut shown = 0usize;
    loop {
        let page = principals::list(st, after.as_deref(), 500).await?;
        for p in &page {
            if shown == 0 {
                outln!("{:<32} {:<9} {:<9} EXPIRES", "NAME", "ROLE", "STATUS")
                    .map_err(cannot_write)?;
            }
            shown += 1;
            outln!(
                "{:<32} {:<9} {:<9} {}",
                p.name,
                p.role.as_str(),
                status(p, now),
                p.expires_at.map_or("never".to_string(), rfc3339)
            )
            .map_err(cannot_write)?;
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.name.clone()),
            _ => break,
        }
    }
    if shown == 0 {
        eprintln!("no principals yet (create one with `pingate agent add NAME --role agent`)");
    }
    Ok(())
}
