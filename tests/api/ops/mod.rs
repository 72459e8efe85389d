//! Running pingate for years: the retention purge after a simulated 100
//! days, backups taken under load, and a database written by the previous
//! release migrated and used by this one.

mod backup;
mod health;
mod retention;
mod upgrade;
