//! This instance's shields against floods of requests, below the HTTP
//! edge so the state, the console and the providers can share them: who
//! the client is (`client`, through `server.trusted_proxies`), the
//! in-memory rate limits keyed by it (`flood`), and the folding of
//! repeated failures into bounded audit events (`failure_audit`).
//! The HTTP edge turns a refusal into problem+json (`http/error.rs`).

pub mod client;
pub mod failure_audit;
pub mod flood;
