//! Stand-ins for the outside world that the integration tests run pingate
//! against: real servers on loopback, never stub transports, so the tests
//! exercise the same wire paths as production.
//!
//! Each integration test binary uses only some of these helpers, hence the
//! module-wide `dead_code` allowance.
#![allow(dead_code)]

pub mod app;
pub mod imitation;
pub mod logs;
pub mod messages_api;
pub mod pg_locks;
pub mod plivo_api;
pub mod postgres;
pub mod refusals;
pub mod smtp;
pub mod telnyx_api;
pub mod twilio_signer;
pub mod vonage_api;

#[cfg(test)]
mod selftest;
