//! Why a webhook was refused, as the providers' handlers report it;
//! `http::error` turns it into problem+json with the API's other errors.

use crate::net::BodyError;
use crate::service::ServiceError;
use crate::shield::flood::Refused;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The provider's signing secret is not configured (503).
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    #[error("webhook signature is missing or invalid")]
    BadSignature,
    /// The flood shield refused the request (429 with Retry-After).
    #[error("too many webhook requests from this address")]
    Flooded(Refused),
    #[error(transparent)]
    Body(#[from] BodyError),
    #[error("webhook bodies must be application/x-www-form-urlencoded")]
    NotForm,
    /// The signed request does not have the provider's documented shape.
    #[error("{0}")]
    Malformed(Box<dyn std::error::Error + Send + Sync>),
    #[error("unknown IVR step: the gather URL carries step={0:?}")]
    UnknownStep(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl WebhookError {
    pub fn malformed(e: impl std::error::Error + Send + Sync + 'static) -> WebhookError {
        WebhookError::Malformed(Box::new(e))
    }
}
