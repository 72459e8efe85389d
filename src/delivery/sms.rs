//! SMS through Twilio's Messages API, or a file per message for development.

use std::path::PathBuf;

use serde::Deserialize;

use super::{FailureReason, SendError, SenderError, failure};
use crate::config::{Secret, Settings, SmsTransport};

pub enum SmsSender {
    Twilio {
        client: reqwest::Client,
        endpoint: String,
        account_sid: String,
        auth_token: Secret,
        from: String,
        status_callback: String,
    },
    File {
        dir: PathBuf,
    },
}

#[derive(Deserialize)]
struct TwilioMessage {
    sid: String,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<u64>,
}

impl SmsSender {
    pub fn from_settings(s: &Settings) -> Result<SmsSender, SenderError> {
        match s.sms.transport {
            SmsTransport::Twilio => {
                let account_sid = s
                    .twilio
                    .account_sid
                    .clone()
                    .ok_or(SenderError::Missing("twilio.account_sid"))?;
                let auth_token = s
                    .twilio
                    .auth_token
                    .clone()
                    .ok_or(SenderError::Missing("twilio.auth_token"))?;
                let from = s
                    .twilio
                    .sms_from
                    .clone()
                    .ok_or(SenderError::Missing("twilio.sms_from"))?;
                let client = reqwest::Client::builder()
                    .timeout(s.sms.timeout.0)
                    .build()
                    .map_err(SenderError::HttpClient)?;
                Ok(SmsSender::Twilio {
                    client,
                    endpoint: format!(
                        "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
                        s.twilio.api_base_url.trim_end_matches('/')
                    ),
                    account_sid,
                    auth_token,
                    from,
                    status_callback: format!(
                        "{}/webhooks/twilio/message-status",
                        s.server.public_base_url
                    ),
                })
            }
            // The directory is made (0700) when the first message is written.
            SmsTransport::File => Ok(SmsSender::File {
                dir: s.sms_file_dir(),
            }),
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
            SmsSender::Twilio {
                client,
                endpoint,
                account_sid,
                auth_token,
                from,
                status_callback,
            } => {
                let from_key = from_parameter(from);
                let resp = client
                    .post(endpoint)
                    .basic_auth(account_sid, Some(auth_token.expose()))
                    .form(&[
                        ("To", to),
                        (from_key, from),
                        ("Body", body),
                        ("StatusCallback", status_callback),
                    ])
                    .send()
                    .await
                    .map_err(|e| {
                        SendError::Transient(FailureReason::new(format!(
                            "Twilio unreachable: {}",
                            without_url(&e)
                        )))
                    })?;
                let status = resp.status();
                let retry_after = retry_after_ms(resp.headers());
                if status.is_success() {
                    let m: TwilioMessage = resp.json().await.map_err(|_| {
                        SendError::Transient(FailureReason::new(
                            "Twilio answered with an unreadable body",
                        ))
                    })?;
                    return Ok(Some(m.sid));
                }
                // Twilio's message names the number: keep the code only.
                let err: Option<TwilioError> = resp.json().await.ok();
                let reason = failure::twilio(status.as_u16(), err.and_then(|e| e.code));
                if status.as_u16() == 429 || status.is_server_error() {
                    Err(match retry_after {
                        Some(ms) => SendError::Throttled(reason, ms),
                        None => SendError::Transient(reason),
                    })
                } else {
                    Err(SendError::Permanent(reason))
                }
            }
            SmsSender::File { dir } => write_file(dir, message_id, to, body).await,
        }
    }
}

/// A messaging service id goes in its own parameter.
fn from_parameter(from: &str) -> &'static str {
    if from.starts_with("MG") {
        "MessagingServiceSid"
    } else {
        "From"
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
/// HTTP-date form is not used by Twilio and is ignored.
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
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests;
