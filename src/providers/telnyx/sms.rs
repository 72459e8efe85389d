//! SMS through Telnyx's Messaging API v2 (`POST /v2/messages`, bearer API
//! key, JSON `from`, `to`, `text`, `webhook_url`), asking for delivery
//! reports at `/webhooks/telnyx/message-status`.

use serde::Deserialize;
use serde_json::json;

use super::REPORT_PATH;
use crate::config::{Secret, Settings};
use crate::delivery::sms::{self, SendFuture, SmsApi, retry_after_ms};
use crate::delivery::{SendError, SenderError};

pub struct TelnyxSms {
    client: reqwest::Client,
    endpoint: String,
    api_key: Secret,
    from: String,
    webhook_url: String,
}

#[derive(Deserialize)]
struct Created {
    data: CreatedMessage,
}

#[derive(Deserialize)]
struct CreatedMessage {
    id: String,
}

#[derive(Deserialize)]
struct Errors {
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    code: Option<serde_json::Value>,
}

impl TelnyxSms {
    pub fn from_settings(s: &Settings) -> Result<TelnyxSms, SenderError> {
        let t = &s.telnyx;
        let api_key = t
            .api_key
            .clone()
            .ok_or(SenderError::Missing("telnyx.api_key"))?;
        let from = t
            .sms_from
            .clone()
            .ok_or(SenderError::Missing("telnyx.sms_from"))?;
        let client = sms::api_client(s.sms.timeout.0)?;
        Ok(TelnyxSms {
            client,
            endpoint: format!("{}/v2/messages", t.api_base_url.trim_end_matches('/')),
            api_key,
            from,
            webhook_url: format!("{}{REPORT_PATH}", s.server.public_base_url),
        })
    }

    async fn send_one(&self, to: &str, body: &str) -> Result<Option<String>, SendError> {
        let resp = self
            .client
            .post(&self.endpoint)
            .bearer_auth(self.api_key.expose())
            .json(&json!({
                "from": self.from,
                "to": to,
                "text": body,
                "webhook_url": self.webhook_url,
            }))
            .send()
            .await
            .map_err(|e| sms::unreachable("Telnyx", &e))?;
        let status = resp.status();
        let retry_after = retry_after_ms(resp.headers());
        if status.is_success() {
            let created: Created = resp.json().await.map_err(|_| sms::unreadable("Telnyx"))?;
            return Ok(Some(created.data.id));
        }
        // The error's title and detail may name the number: the code only.
        let code = resp
            .json::<Errors>()
            .await
            .ok()
            .and_then(|e| e.errors.into_iter().next())
            .and_then(|e| e.code)
            .map(|c| match c {
                serde_json::Value::String(s) => s.chars().take(16).collect::<String>(),
                other => other.to_string().chars().take(16).collect::<String>(),
            });
        Err(sms::refused("Telnyx", status, retry_after, code.as_deref()))
    }
}

impl SmsApi for TelnyxSms {
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(self.send_one(to, body))
    }
}
