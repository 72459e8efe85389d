//! Extractors whose rejections use our problem+json format.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "send the body as application/json".into(),
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::PayloadTooLarge),
            Err(e) => Err(ApiError::BadRequest(redact_values(&e.body_text()))),
        }
    }
}

/// serde quotes the offending value in type errors (``invalid type:
/// integer `493817` ``): a PIN sent as a number must not come back in the
/// answer or the log. Field names (``unknown field `x` ``) are kept.
pub fn redact_values(message: &str) -> String {
    if !["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|k| message.contains(k))
    {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '`' {
            if inside {
                out.push_str("…`");
            } else {
                out.push('`');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(ApiError::BadRequest(e.body_text()))
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// Reads the raw body under the configured limit (webhooks verify the
/// signature over the exact bytes before parsing anything).
pub async fn raw_body(req: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    crate::net::read_body(req, limit)
        .await
        .map_err(ApiError::from)
}

#[cfg(test)]
mod tests {
    use super::redact_values;

    #[test]
    fn values_in_type_errors_are_redacted_but_field_names_kept() {
        let m = "pin: invalid type: integer `565372`, expected a string at line 1 column 14";
        let r = redact_values(m);
        assert!(!r.contains("565372"), "{r}");
        assert!(r.starts_with("pin: invalid type: integer `…`"), "{r}");
        let u = "unknown field `destination`, expected `channel`";
        assert_eq!(redact_values(u), u);
    }
}
