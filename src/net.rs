//! What every HTTP-facing adapter (the API in `http/`, the webhooks in
//! `providers/`) reads of a request before verifying it: the raw body
//! under a limit.

use axum::body::{Body, Bytes};
use axum::extract::Request;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("request body is larger than the limit")]
    TooLarge,
    #[error("the request body could not be read")]
    Unreadable,
}

/// Reads the raw body (signatures are checked over the exact bytes).
pub async fn read_body(req: Request, limit: usize) -> Result<Bytes, BodyError> {
    read_body_of(req.into_body(), limit).await
}

/// [`read_body`] for a request already split into its parts, so the
/// caller keeps the headers without copying them.
pub async fn read_body_of(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // Only the length limit is a 413; a broken or aborted body is the
        // client's malformed request.
        let too_large = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
            .any(|e| e.is::<http_body_util::LengthLimitError>());
        if too_large {
            BodyError::TooLarge
        } else {
            BodyError::Unreadable
        }
    })
}
