//! Issue 8's hardening items, each tried as an attacker or an operator
//! would against the real server.

mod account_numbers;
mod audit_order;
mod checkpoint_anchor;
mod floods;
mod hash_pool;
mod org_budgets;
mod org_names;
mod sweeper;
