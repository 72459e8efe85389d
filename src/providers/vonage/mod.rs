//! Vonage adapter (Voice API with NCCOs, SMS API): the HS256 JWT that signs
//! its webhooks, the SMS API's `sig` on delivery receipts, their payloads
//! and words in neutral terms, NCCO replies and the SMS sender. The
//! webhook handlers are in `http::webhooks::vonage`.

pub mod ncco;
pub mod neutral;
pub mod signature;
pub mod sms;
pub mod sms_signature;
pub mod webhook;

/// Where pingate's NCCOs send the caller's keys and where the SMS API
/// sends delivery receipts, below `server.public_base_url` (the routes in
/// `http::webhooks::vonage` spell the same paths).
pub const INPUT_PATH: &str = "/webhooks/vonage/input";
pub const REPORT_PATH: &str = "/webhooks/vonage/message-status";
