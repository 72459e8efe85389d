//! Application services: each use case as one function that reads, decides
//! with the pure domain, and writes with its audit events in one
//! transaction. HTTP handlers and the CLI are thin callers.

pub mod calls;
pub mod cancel;
pub mod challenges;
pub mod console;
pub mod grants;
pub mod ivr;
pub mod limits;
pub mod notices;
pub mod orgs;
pub mod principals;
pub mod resend;
pub mod sweeper;
pub mod views;

use crate::store::StoreError;

/// A use case's failure; `http::error` maps each to a problem+json type.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The resource is in a state that forbids the action; `status` is the
    /// state, shown to the client.
    #[error("{detail}")]
    Conflict {
        kind: &'static str,
        detail: String,
        status: Option<String>,
    },
    /// The principal's role allows the route but not this resource.
    #[error("{0}")]
    Forbidden(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Several fields wrong at once (org profiles): each reported.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidMany(Vec<crate::domain::org::ImportError>),
    #[error("{detail}")]
    TooMany {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(kind: &'static str, detail: impl Into<String>, status: Option<&str>) -> Self {
        ServiceError::Conflict {
            kind,
            detail: detail.into(),
            status: status.map(str::to_string),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
