//! Issue 8's hardening items, each tried as an attacker or an operator
//! would against the real server.

mod floods;
mod org_names;
mod sweeper;
