//! Plivo adapter (Plivo XML calls, the Message API): the
//! `X-Plivo-Signature-V3` check (HMAC-SHA256 over the URL, the sorted
//! parameters and the nonce), the call and message callbacks and their
//! words in neutral terms, Plivo XML replies and the SMS sender. The
//! webhook handlers are in `http::webhooks::plivo`.

pub mod neutral;
pub mod plivo_xml;
pub mod signature;
pub mod sms;
pub mod webhook;

/// Where pingate's `<GetDigits>` sends the caller's keys and where Plivo
/// reports deliveries, below `server.public_base_url` (the routes in
/// `http::webhooks::plivo` spell the same paths).
pub const INPUT_PATH: &str = "/webhooks/plivo/input";
pub const REPORT_PATH: &str = "/webhooks/plivo/message-status";
