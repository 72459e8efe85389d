//! Twilio adapter: webhook signature checks, typed webhook payloads, their
//! words in neutral terms, TwiML replies and the Messages API sender. The
//! webhook handlers are in `http::webhooks::twilio`.

pub mod caller;
pub mod form;
pub mod neutral;
pub mod render;
pub mod signature;
pub mod sms;
pub mod twiml;
