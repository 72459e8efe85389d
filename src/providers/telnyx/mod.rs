//! Telnyx adapter (TeXML calls, Messaging API v2): the Ed25519 webhook
//! signature over `timestamp|body`, the TeXML and messaging payloads and
//! their words in neutral terms, TeXML replies and the SMS sender. The
//! webhook handlers are in `http::webhooks::telnyx`.

pub mod neutral;
pub mod signature;
pub mod sms;
pub mod texml;
pub mod webhook;

/// Where pingate's TeXML sends the caller's keys and where Telnyx reports
/// deliveries, below `server.public_base_url` (the routes in
/// `http::webhooks::telnyx` spell the same paths).
pub const GATHER_PATH: &str = "/webhooks/telnyx/gather";
pub const REPORT_PATH: &str = "/webhooks/telnyx/message-status";
