//! Issue 8's hardening items, each tried as an attacker or an operator
//! would against the real server.

mod account_numbers;
mod floods;
mod grant_issuers;
mod grant_limits;
mod group_commit;
mod group_jobs;
mod group_one;
mod hash_pool;
mod hash_priority;
mod intake;
mod org_budgets;
mod org_names;
mod ownership;
mod pg_nodelay;
mod quota_batch;
mod sweeper;
