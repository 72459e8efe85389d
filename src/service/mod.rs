//! Application services: each use case as one function that reads, decides
//! with the pure domain, and writes with its audit events in one
//! transaction. HTTP handlers and the CLI are thin callers.

pub mod calls;
pub mod cancel;
pub mod challenges;
pub mod checkpointer;
pub mod console;
pub mod delivery_reports;
pub mod grants;
pub mod handling;
pub mod health;
pub mod ivr;
pub mod limits;
pub mod notices;
pub mod orgs;
pub mod overrides;
pub mod pin_message;
pub mod principals;
pub mod proofs;
pub mod resend;
pub mod retention;
pub mod sweeper;
pub mod views;
pub mod webhook_receipts;

use crate::app::HashWorkError;
use crate::audit::anchor::AnchorError;
use crate::audit::checkpoint::CheckpointError;
use crate::audit::merkle::ProofError;
use crate::delivery::seal::SealError;
use crate::domain::pin::PinError;
use crate::service::checkpointer::VerifyError;
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
    /// Another agent handles the call; the agent may take it over.
    #[error("the call is handled by agent {handler}; take it over to act on it")]
    HandledByOther { handler: String },
    /// The agent already holds an active grant on the call.
    #[error("you already hold an active grant on this call ({grant_id})")]
    GrantExists { grant_id: String },
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
    /// The server cannot take the work now (a full hashing queue).
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server failed: logged with its source, never shown.
    #[error("internal error: {0}")]
    Internal(#[from] InternalError),
}

/// What went wrong inside the server, with the cause as its source.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error("PIN hashing: {0}")]
    Hashing(#[from] HashWorkError),
    #[error("PIN: {0}")]
    Pin(#[from] PinError),
    #[error("sealing: {0}")]
    Seal(#[from] SealError),
    #[error("random generator: {0}")]
    Random(#[from] rand::rngs::SysError),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("audit checkpoint anchor: {0}")]
    Anchor(#[from] AnchorError),
    #[error("proof generation: {0}")]
    Proof(#[from] ProofError),
    #[error("a task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("audit log: {0}")]
    AuditLog(#[from] VerifyError),
    /// A state the code rules out was found (the message says which).
    #[error("broken invariant: {0}")]
    Invariant(&'static str),
}

/// `?` on any internal cause gives `ServiceError::Internal`.
macro_rules! internal_from {
    ($($t:ty),+) => {$(
        impl From<$t> for ServiceError {
            fn from(e: $t) -> Self {
                ServiceError::Internal(InternalError::from(e))
            }
        }
    )+};
}
impl From<crate::delivery::EnqueueError> for ServiceError {
    fn from(e: crate::delivery::EnqueueError) -> Self {
        match e {
            crate::delivery::EnqueueError::Store(e) => ServiceError::Store(e),
            crate::delivery::EnqueueError::Seal(e) => ServiceError::from(e),
        }
    }
}

internal_from!(
    HashWorkError,
    PinError,
    SealError,
    rand::rngs::SysError,
    CheckpointError,
    AnchorError,
    ProofError,
    tokio::task::JoinError,
    VerifyError
);

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
