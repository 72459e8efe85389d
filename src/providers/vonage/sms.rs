//! SMS through Vonage's SMS API (`POST /sms/json`, a form with `api_key`,
//! `api_secret`, `from`, `to` and `text`, numbers without `+`), asking for
//! delivery receipts at `/webhooks/vonage/message-status`. The API answers
//! 200 with a status per message part: `0` is accepted; `1` (throttled)
//! and `5` (internal error) are worth another try; anything else is final.

use serde::Deserialize;

use super::REPORT_PATH;
use crate::config::{Secret, Settings};
use crate::delivery::sms::{self, SendFuture, SmsApi, retry_after_ms};
use crate::delivery::{SendError, SenderError, failure};

const PROVIDER: &str = "Vonage";

pub struct VonageSms {
    client: reqwest::Client,
    endpoint: String,
    api_key: String,
    api_secret: Secret,
    from: String,
    callback: String,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    messages: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    status: String,
    #[serde(rename = "message-id")]
    message_id: Option<String>,
}

impl VonageSms {
    pub fn from_settings(s: &Settings) -> Result<VonageSms, SenderError> {
        let v = &s.vonage;
        let api_key = v
            .api_key
            .clone()
            .ok_or(SenderError::Missing("vonage.api_key"))?;
        let api_secret = v
            .api_secret
            .clone()
            .ok_or(SenderError::Missing("vonage.api_secret"))?;
        let from = v
            .sms_from
            .as_deref()
            .ok_or(SenderError::Missing("vonage.sms_from"))?;
        Ok(VonageSms {
            client: sms::api_client(s.sms.timeout.0)?,
            endpoint: format!("{}/sms/json", v.api_base_url.trim_end_matches('/')),
            api_key,
            api_secret,
            from: without_plus(from),
            callback: format!("{}{REPORT_PATH}", s.server.public_base_url),
        })
    }

    async fn send_one(&self, to: &str, body: &str) -> Result<Option<String>, SendError> {
        let to = without_plus(to);
        let form = [
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.expose()),
            ("from", self.from.as_str()),
            ("to", to.as_str()),
            ("text", body),
            ("callback", self.callback.as_str()),
            ("status-report-req", "1"),
        ];
        let resp = self
            .client
            .post(&self.endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| sms::unreachable(PROVIDER, &e))?;
        let status = resp.status();
        if !status.is_success() {
            let retry_after = retry_after_ms(resp.headers());
            return Err(sms::refused(PROVIDER, status, retry_after, None));
        }
        let answer: Answer = resp.json().await.map_err(|_| sms::unreadable(PROVIDER))?;
        accepted(&answer.messages, status.as_u16())
    }
}

/// The first part's message id when every part was accepted; otherwise
/// the first refusal by its status code (never its `error-text`, which
/// may name the number).
fn accepted(parts: &[Part], http: u16) -> Result<Option<String>, SendError> {
    let Some(first) = parts.first() else {
        return Err(sms::unreadable(PROVIDER));
    };
    if let Some(bad) = parts.iter().find(|p| p.status != "0") {
        let code: String = bad.status.chars().take(16).collect();
        let reason = failure::provider(PROVIDER, http, Some(&code));
        return Err(match code.as_str() {
            "1" | "5" => SendError::Transient(reason),
            _ => SendError::Permanent(reason),
        });
    }
    match &first.message_id {
        Some(id) if !id.is_empty() => Ok(Some(id.clone())),
        _ => Err(sms::unreadable(PROVIDER)),
    }
}

fn without_plus(number: &str) -> String {
    number.trim().trim_start_matches('+').to_string()
}

impl SmsApi for VonageSms {
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(self.send_one(to, body))
    }
}

#[cfg(test)]
mod tests;
