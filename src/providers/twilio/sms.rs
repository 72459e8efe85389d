//! SMS through Twilio's Messages API
//! (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, Basic auth, a
//! form), asking for delivery reports at `/webhooks/twilio/message-status`.

use serde::Deserialize;

use crate::config::{Secret, Settings};
use crate::delivery::sms::{self, SendFuture, SmsApi, retry_after_ms};
use crate::delivery::{SendError, SenderError};

/// Where Twilio posts delivery reports, below `server.public_base_url`.
pub const REPORT_PATH: &str = "/webhooks/twilio/message-status";

pub struct TwilioSms {
    client: reqwest::Client,
    endpoint: String,
    account_sid: String,
    auth_token: Secret,
    from: String,
    status_callback: String,
}

#[derive(Deserialize)]
struct TwilioMessage {
    sid: String,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<u64>,
}

impl TwilioSms {
    pub fn from_settings(s: &Settings) -> Result<TwilioSms, SenderError> {
        let t = &s.twilio;
        let account_sid = t
            .account_sid
            .clone()
            .ok_or(SenderError::Missing("twilio.account_sid"))?;
        let auth_token = t
            .auth_token
            .clone()
            .ok_or(SenderError::Missing("twilio.auth_token"))?;
        let from = t
            .sms_from
            .clone()
            .ok_or(SenderError::Missing("twilio.sms_from"))?;
        let client = sms::api_client(s.sms.timeout.0)?;
        Ok(TwilioSms {
            client,
            endpoint: format!(
                "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
                t.api_base_url.trim_end_matches('/')
            ),
            account_sid,
            auth_token,
            from,
            status_callback: format!("{}{REPORT_PATH}", s.server.public_base_url),
        })
    }

    async fn send_one(&self, to: &str, body: &str) -> Result<Option<String>, SendError> {
        let resp = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&[
                ("To", to),
                (from_parameter(&self.from), &self.from),
                ("Body", body),
                ("StatusCallback", &self.status_callback),
            ])
            .send()
            .await
            .map_err(|e| sms::unreachable("Twilio", &e))?;
        let status = resp.status();
        let retry_after = retry_after_ms(resp.headers());
        if status.is_success() {
            let m: TwilioMessage = resp.json().await.map_err(|_| sms::unreadable("Twilio"))?;
            return Ok(Some(m.sid));
        }
        // Twilio's message names the number: keep the code only.
        let err: Option<TwilioError> = resp.json().await.ok();
        let code = err.and_then(|e| e.code).map(|c| c.to_string());
        Err(sms::refused("Twilio", status, retry_after, code.as_deref()))
    }
}

impl SmsApi for TwilioSms {
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(self.send_one(to, body))
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
