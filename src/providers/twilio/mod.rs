//! Twilio adapter: webhook signature checks, typed webhook payloads and
//! TwiML replies. The pure parts live here; HTTP handlers sit beside them.

pub mod form;
pub mod http;
pub mod render;
pub mod signature;
pub mod twiml;
