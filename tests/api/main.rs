//! Integration tests: the real server on port 0, real SMTP on loopback,
//! imitations of Twilio's, Telnyx's and Plivo's messaging APIs, webhooks
//! signed independently.

mod support;

mod abuse;
mod audit;
mod console;
mod delivery;
mod docs;
mod errors;
mod expiry;
mod flow;
mod hardening;
mod layout;
mod leaks;
mod metrics;
mod migrations;
mod openapi;
mod ops;
mod plivo;
mod principals;
mod quotas;
mod races;
mod roles;
mod shutdown;
mod telnyx;
mod timing;
mod webhooks;

/// Under CI every PostgreSQL variant must really run, not be compiled ignored.
#[test]
fn ci_runs_the_postgres_variants() {
    support::app::assert_ci_runs_postgres_variants();
}
