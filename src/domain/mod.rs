//! Validated domain types: phone numbers, email addresses, PINs, org profiles.
//! The domain does no I/O and reads no clock: time and randomness come in as
//! arguments, so every rule here is testable without a database or a network.

pub mod challenge;
pub mod email;
pub mod handling;
pub mod language;
pub mod message;
pub mod org;
pub mod phone;
pub mod pin;
pub mod retention;
pub mod string_enum;
pub mod support;
pub mod verification;
