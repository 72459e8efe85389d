//! Telephony providers: one module per provider with its signature check,
//! request parsing, reply markup and webhook routes. The domain does not
//! know which provider a call came through.

pub mod error;
pub mod twilio;

pub use error::WebhookError;
