//! The in-memory flood shields (governor) in front of the database quotas.
//! They key on what an attacker cannot vary for free: webhooks by client
//! address, with a separate budget for requests whose signature verifies;
//! the API by client address until a token verifies (failed logins), then
//! by principal. They guard one instance; quotas that must hold across
//! instances are in the database (`service::limits`). Refusals are logged
//! and counted, not audited one by one (see `failure_audit`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};

use super::client::ClientKey;
use super::failure_audit::FailureFolder;
use crate::config::LimitsSettings;

/// Which flood shield refused, for the answer and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Webhook,
    SignedWebhook,
    Api,
    FailedLogins,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Webhook => "webhook",
            Scope::SignedWebhook => "signed webhook",
            Scope::Api => "API",
            Scope::FailedLogins => "failed authentication",
        }
    }
}

/// A request the shield refused: answers 429 with `Retry-After`.
#[derive(Debug, Clone, Copy)]
pub struct Refused {
    pub scope: Scope,
    pub wait: Duration,
}

impl Refused {
    /// Whole seconds to wait, at least one (for `Retry-After`).
    pub fn retry_after_secs(&self) -> u64 {
        (self.wait.as_secs() + u64::from(self.wait.subsec_nanos() > 0)).max(1)
    }
}

pub struct FloodShield {
    unsigned: DefaultKeyedRateLimiter<ClientKey>,
    signed: DefaultKeyedRateLimiter<ClientKey>,
    principals: DefaultKeyedRateLimiter<String>,
    failures: DefaultKeyedRateLimiter<ClientKey>,
    /// Addresses whose failed-login budget is spent, and until when: they
    /// are refused before any token lookup.
    blocked: Mutex<HashMap<ClientKey, Instant>>,
    pub folder: FailureFolder,
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Quota::per_second(rate).allow_burst(burst)
}

/// Keys of clients that went quiet are dropped so the maps stay small.
const HOUSEKEEPING_AT: usize = 10_000;

fn check<K: std::hash::Hash + Eq + Clone>(
    l: &DefaultKeyedRateLimiter<K>,
    key: &K,
    scope: Scope,
) -> Result<(), Refused> {
    if l.len() > HOUSEKEEPING_AT {
        l.retain_recent();
    }
    l.check_key(key).map_err(|n| refused(scope, &n))
}

fn refused(scope: Scope, not_until: &NotUntil<governor::clock::QuantaInstant>) -> Refused {
    Refused {
        scope,
        wait: not_until.wait_time_from(DefaultClock::default().now()),
    }
}

impl FloodShield {
    pub fn new(l: &LimitsSettings) -> FloodShield {
        let failures = NonZeroU32::new(l.auth_failures_per_minute).unwrap_or(NonZeroU32::MIN);
        FloodShield {
            unsigned: RateLimiter::keyed(quota(l.webhook_per_second, l.webhook_burst)),
            signed: RateLimiter::keyed(quota(l.webhook_signed_per_second, l.webhook_signed_burst)),
            principals: RateLimiter::keyed(quota(l.api_per_second, l.api_burst)),
            failures: RateLimiter::keyed(Quota::per_minute(failures).allow_burst(failures)),
            blocked: Mutex::new(HashMap::new()),
            folder: FailureFolder::new(l.failure_audit_window.0),
        }
    }

    /// A webhook from `client`, charged to the budget of signed or of
    /// unsigned (and badly signed) requests.
    pub fn webhook(&self, client: ClientKey, signed: bool) -> Result<(), Refused> {
        if signed {
            check(&self.signed, &client, Scope::SignedWebhook)
        } else {
            check(&self.unsigned, &client, Scope::Webhook)
        }
    }

    /// An API request whose token verified as principal `id`.
    pub fn principal(&self, id: &str) -> Result<(), Refused> {
        check(&self.principals, &id.to_owned(), Scope::Api)
    }

    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, Instant>> {
        self.blocked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Before a token is looked up: is `client` refused for failed logins?
    pub fn before_login(&self, client: ClientKey) -> Result<(), Refused> {
        let now = Instant::now();
        let mut blocked = self.blocked();
        match blocked.get(&client) {
            Some(until) if *until > now => Err(Refused {
                scope: Scope::FailedLogins,
                wait: *until - now,
            }),
            Some(_) => {
                blocked.remove(&client);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// A token did not verify: charges `client`'s failed-login budget and,
    /// once it is spent, refuses the address until it refills.
    pub fn login_failed(&self, client: ClientKey) {
        if let Err(r) = check(&self.failures, &client, Scope::FailedLogins) {
            let now = Instant::now();
            let mut blocked = self.blocked();
            if blocked.len() > HOUSEKEEPING_AT {
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(client, now + r.wait);
        }
    }
}
