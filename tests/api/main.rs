//! Integration tests: the real server on port 0, real SMTP on loopback, an
//! imitation of Twilio's Messages API, webhooks signed independently.

mod support;

mod abuse;
mod audit;
mod console;
mod delivery;
mod early_reports;
mod errors;
mod flow;
mod leaks;
mod migrations;
mod openapi;
mod races;
mod roles;
mod timing;
mod webhooks;
