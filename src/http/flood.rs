//! The in-memory flood shield (governor) in front of the database quotas:
//! per client address on webhooks, per bearer token on the API. It guards
//! one instance; the quotas that must hold across instances are in the
//! database (`service::limits`). Refusals are logged and counted, not
//! audited: writing an event per flood request would be the flood.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::LimitsSettings;
use crate::service::ServiceError;

use super::error::ApiError;

pub struct FloodShield {
    webhooks: DefaultKeyedRateLimiter<IpAddr>,
    api: DefaultKeyedRateLimiter<[u8; 32]>,
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Quota::per_second(rate).allow_burst(burst)
}

impl FloodShield {
    pub fn new(l: &LimitsSettings) -> FloodShield {
        FloodShield {
            webhooks: RateLimiter::keyed(quota(l.webhook_per_second, l.webhook_burst)),
            api: RateLimiter::keyed(quota(l.api_per_second, l.api_burst)),
        }
    }
}

fn refuse(scope: &'static str, wait: std::time::Duration) -> Response {
    metrics::counter!("pingate_flood_refusals_total", "scope" => scope).increment(1);
    tracing::warn!(scope, "flood shield refused a request");
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut resp = ApiError::from(ServiceError::TooMany {
        detail: format!("too many {scope} requests; slow down"),
        retry_after_secs: secs.max(1),
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn housekeeping<K: std::hash::Hash + Eq + Clone>(l: &DefaultKeyedRateLimiter<K>) {
    // Keys of clients that went quiet are dropped so the map stays small.
    if l.len() > 10_000 {
        l.retain_recent();
    }
}

pub async fn webhooks(
    State(shield): State<Arc<FloodShield>>,
    req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    housekeeping(&shield.webhooks);
    if let Err(not_until) = shield.webhooks.check_key(&ip) {
        return refuse(
            "webhook",
            not_until.wait_time_from(DefaultClock::default().now()),
        );
    }
    next.run(req).await
}

pub async fn api(State(shield): State<Arc<FloodShield>>, req: Request, next: Next) -> Response {
    // Keyed by the token's hash (never the token); anonymous requests by
    // their address, so they cannot exhaust a real token's allowance.
    let key = match req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(v) => crate::ids::token_hash(v),
        None => {
            let ip = req
                .extensions()
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default();
            crate::ids::token_hash(&format!("anonymous {ip}"))
        }
    };
    housekeeping(&shield.api);
    if let Err(not_until) = shield.api.check_key(&key) {
        return refuse(
            "API",
            not_until.wait_time_from(DefaultClock::default().now()),
        );
    }
    next.run(req).await
}
