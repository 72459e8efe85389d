//! SMS through Plivo's Message API (`POST /v1/Account/{auth_id}/Message/`,
//! Basic auth with the auth id and token, JSON `src`, `dst`, `text`),
//! asking for delivery reports at `/webhooks/plivo/message-status`
//! (`url`, `method=POST`).

use serde::Deserialize;
use serde_json::json;

use super::REPORT_PATH;
use crate::config::{Secret, Settings};
use crate::delivery::sms::{self, SendFuture, SmsApi, retry_after_ms};
use crate::delivery::{SendError, SenderError};

pub struct PlivoSms {
    client: reqwest::Client,
    endpoint: String,
    auth_id: String,
    auth_token: Secret,
    from: String,
    report_url: String,
}

/// `202 Accepted`: `{"message": "message(s) queued", "message_uuid": [...]}`.
#[derive(Deserialize)]
struct Queued {
    message_uuid: Vec<String>,
}

impl PlivoSms {
    pub fn from_settings(s: &Settings) -> Result<PlivoSms, SenderError> {
        let p = &s.plivo;
        let auth_id = p
            .auth_id
            .clone()
            .ok_or(SenderError::Missing("plivo.auth_id"))?;
        let auth_token = p
            .auth_token
            .clone()
            .ok_or(SenderError::Missing("plivo.auth_token"))?;
        let from = p
            .sms_from
            .clone()
            .ok_or(SenderError::Missing("plivo.sms_from"))?;
        let client = sms::api_client(s.sms.timeout.0)?;
        Ok(PlivoSms {
            client,
            endpoint: format!(
                "{}/v1/Account/{auth_id}/Message/",
                p.api_base_url.trim_end_matches('/')
            ),
            auth_id,
            auth_token,
            from,
            report_url: format!("{}{REPORT_PATH}", s.server.public_base_url),
        })
    }

    async fn send_one(&self, to: &str, body: &str) -> Result<Option<String>, SendError> {
        let resp = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.auth_id, Some(self.auth_token.expose()))
            .json(&json!({
                "src": self.from,
                "dst": to,
                "text": body,
                "url": self.report_url,
                "method": "POST",
            }))
            .send()
            .await
            .map_err(|e| sms::unreachable("Plivo", &e))?;
        let status = resp.status();
        let retry_after = retry_after_ms(resp.headers());
        if status.is_success() {
            let queued: Queued = resp.json().await.map_err(|_| sms::unreadable("Plivo"))?;
            let uuid = queued
                .message_uuid
                .into_iter()
                .next()
                .ok_or_else(|| sms::unreadable("Plivo"))?;
            return Ok(Some(uuid));
        }
        // Plivo's `error` is prose that may name the number, and it has no
        // code: the HTTP status alone classifies the refusal.
        Err(sms::refused("Plivo", status, retry_after, None))
    }
}

impl SmsApi for PlivoSms {
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(self.send_one(to, body))
    }
}
