//! SMS senders: the trait each provider's messaging API implements (in
//! its own folder under `providers/`), and the file transport for
//! development. `sms.transport` picks one when the state is built.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use super::{FailureReason, SendError};
use crate::config::Settings;

/// What a send returns: the provider's message id, which its delivery
/// reports name.
pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<String>, SendError>> + Send + 'a>>;

/// A provider's messaging API. Each implementation asks its provider for
/// delivery reports at its own `/webhooks/<provider>/message-status`.
pub trait SmsApi: Send + Sync {
    /// Sends `body` to `to` (E.164).
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a>;
}

pub enum SmsSender {
    Api(Box<dyn SmsApi>),
    File { dir: PathBuf },
}

impl SmsSender {
    /// The file transport; the directory is made (0700) when the first
    /// message is written.
    pub fn file(s: &Settings) -> SmsSender {
        SmsSender::File {
            dir: s.sms_file_dir(),
        }
    }

    /// Sends one SMS; `message_id` names the file for the file transport.
    pub async fn send(
        &self,
        message_id: &str,
        to: &str,
        body: &str,
    ) -> Result<Option<String>, SendError> {
        match self {
            SmsSender::Api(api) => api.send(to, body).await,
            SmsSender::File { dir } => write_file(dir, message_id, to, body).await,
        }
    }
}

/// The file transport: one JSON file per message, named by its id, in a
/// private directory made (0700) at the first write.
async fn write_file(
    dir: &std::path::Path,
    message_id: &str,
    to: &str,
    body: &str,
) -> Result<Option<String>, SendError> {
    let line = serde_json::json!({ "to": to, "body": body }).to_string();
    let failed = |e: std::io::Error| {
        SendError::Transient(FailureReason::new(format!("file transport: {e}")))
    };
    crate::private_fs::ensure_dir(dir).map_err(failed)?;
    crate::private_fs::write(&dir.join(format!("{message_id}.sms.json")), line.as_bytes())
        .await
        .map_err(failed)?;
    Ok(Some(message_id.to_string()))
}

/// The longest `Retry-After` honoured; a longer one counts as this long
/// (a bad header must not park a message for ever).
const MAX_RETRY_AFTER_MS: i64 = 3_600_000;

/// `Retry-After` in delay-seconds form (RFC 9110 §10.2.3), capped; the
/// HTTP-date form is not used by the providers and is ignored.
pub fn retry_after_ms(headers: &reqwest::header::HeaderMap) -> Option<i64> {
    let seconds: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(
        i64::try_from(seconds.saturating_mul(1000))
            .map_or(MAX_RETRY_AFTER_MS, |ms| ms.min(MAX_RETRY_AFTER_MS)),
    )
}

/// reqwest errors print the URL, which is fine, but never the credentials.
pub fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_string()
}

/// The HTTP client a provider's messaging API is called with.
pub fn api_client(timeout: std::time::Duration) -> Result<reqwest::Client, super::SenderError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(super::SenderError::HttpClient)
}

/// The provider could not be reached: worth another try.
pub fn unreachable(provider: &str, e: &reqwest::Error) -> SendError {
    SendError::Transient(FailureReason::new(format!(
        "{provider} unreachable: {}",
        without_url(e)
    )))
}

/// A success whose body could not be read: worth another try.
pub fn unreadable(provider: &str) -> SendError {
    SendError::Transient(FailureReason::new(format!(
        "{provider} answered with an unreadable body"
    )))
}

/// A refusal by its status and the provider's error code (never its
/// message, which may name the number): 429 and 5xx are tried again,
/// after `Retry-After` when given; anything else is final.
pub fn refused(
    provider: &str,
    status: reqwest::StatusCode,
    retry_after: Option<i64>,
    code: Option<&str>,
) -> SendError {
    let reason = super::failure::provider(provider, status.as_u16(), code);
    if status.as_u16() == 429 || status.is_server_error() {
        match retry_after {
            Some(ms) => SendError::Throttled(reason, ms),
            None => SendError::Transient(reason),
        }
    } else {
        SendError::Permanent(reason)
    }
}

#[cfg(test)]
mod tests;
