//! The agent console: sessions, CSRF, headers, roles and the whole
//! verification over HTTP; live updates across instances; a leak canary;
//! and the browser tests in a real Chromium.

mod browser;
pub(crate) mod client;
mod flow;
mod handling;
mod leaks;
mod live;
mod principals;
mod sessions;
