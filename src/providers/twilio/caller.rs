//! Twilio's side of a call, played by `pingate demo` and `pingate call
//! simulate`: the webhooks a call makes (the call arriving, the digits
//! keyed into a `<Gather>`, the hang-up), signed with `twilio.auth_token`
//! exactly as Twilio signs them. Those commands reach it as
//! `providers::simulated` and name no provider themselves.

use crate::config::{Secret, Settings};

use super::signature;

/// The provider's name, for people reading what the commands print.
pub const NAME: &str = "Twilio";

/// Why a simulated webhook could not be posted or was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    #[error(
        "twilio.auth_token is not set: there is nothing to sign the webhooks with (and the instance answers them 503)"
    )]
    NoAuthToken,
    #[error(
        "cannot reach pingate at {url}: {source} (is `pingate serve` running with this configuration?)"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}: {body}")]
    Refused {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
}

/// Configures `s` to verify the webhooks a caller signed with `auth_token`
/// (the demo's private instance).
pub fn accept_signed_by(s: &mut Settings, auth_token: &str) {
    s.twilio.auth_token = Some(Secret::from(auth_token));
}

/// One call the provider makes to the instance at `base`.
pub struct SimulatedCall {
    http: reqwest::Client,
    base: String,
    auth_token: String,
    account: String,
    call_ref: String,
}

impl SimulatedCall {
    /// A new call signed with the configured auth token, from the
    /// configured account (a placeholder when none is set).
    pub fn new(settings: &Settings, base: &str) -> Result<SimulatedCall, CallerError> {
        let t = &settings.twilio;
        let token = t.auth_token.as_ref().ok_or(CallerError::NoAuthToken)?;
        Ok(SimulatedCall {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            auth_token: token.expose().to_string(),
            account: t
                .account_sid
                .clone()
                .unwrap_or_else(|| format!("AC{}", "0".repeat(32))),
            call_ref: format!("CA{}", uuid::Uuid::new_v4().simple()),
        })
    }

    /// The provider's id of the call (`provider_call_id` in the API).
    pub fn call_ref(&self) -> &str {
        &self.call_ref
    }

    /// Where the call arriving is posted.
    pub fn arrival_url(&self) -> String {
        format!("{}/webhooks/twilio/voice", self.base)
    }

    /// Where the hang-up is posted.
    pub fn hang_up_url(&self) -> String {
        format!("{}/webhooks/twilio/status", self.base)
    }

    /// The call arrives from `from` to `to`, with a STIR/SHAKEN
    /// attestation (`A`, `B`, `C`, or the provider's own word); answers the
    /// instance's reply.
    pub async fn arrive(
        &self,
        from: &str,
        to: &str,
        attestation: Option<&str>,
    ) -> Result<String, CallerError> {
        let mut form = self.about_the_call();
        form.push(("From".into(), from.into()));
        form.push(("To".into(), to.into()));
        form.push(("CallStatus".into(), "ringing".into()));
        if let Some(a) = attestation {
            form.push(("StirVerstat".into(), attestation_word(a)));
        }
        self.post(&self.arrival_url(), &form).await
    }

    /// The caller keys `digits` into the menu whose reply asked for them,
    /// posted to `url` (from [`digits_url`]).
    pub async fn key(&self, url: &str, digits: &str) -> Result<String, CallerError> {
        let mut form = self.about_the_call();
        form.push(("Digits".into(), digits.into()));
        self.post(url, &form).await
    }

    /// The caller hangs up.
    pub async fn hang_up(&self) -> Result<String, CallerError> {
        let mut form = self.about_the_call();
        form.push(("CallStatus".into(), "completed".into()));
        form.push(("SequenceNumber".into(), "1".into()));
        self.post(&self.hang_up_url(), &form).await
    }

    fn about_the_call(&self) -> Vec<(String, String)> {
        vec![
            ("CallSid".into(), self.call_ref.clone()),
            ("AccountSid".into(), self.account.clone()),
        ]
    }

    /// Posts one signed webhook; answers the body, or says why not.
    async fn post(&self, url: &str, form: &[(String, String)]) -> Result<String, CallerError> {
        let sig = signature::sign(url, form, self.auth_token.as_bytes());
        let resp = self
            .http
            .post(url)
            .header("x-twilio-signature", sig)
            .form(form)
            .send()
            .await
            .map_err(|source| CallerError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(CallerError::Refused {
                url: url.to_string(),
                status,
                body: body.chars().take(300).collect(),
            });
        }
        Ok(body)
    }
}

/// Twilio's word for an attestation level given as `A`, `B` or `C`; any
/// other word is sent as it is.
fn attestation_word(a: &str) -> String {
    match a.to_ascii_uppercase().as_str() {
        "A" | "B" | "C" => format!("TN-Validation-Passed-{}", a.to_ascii_uppercase()),
        _ => a.to_string(),
    }
}

/// Where a reply asks the caller's digits to go: the `action` of its first
/// `<Gather>`, unescaped; none when it asks for no digits.
pub fn digits_url(reply: &str) -> Option<String> {
    let at = reply.find("<Gather")?;
    let rest = &reply[at..];
    let start = rest.find("action=\"")? + "action=\"".len();
    let end = rest[start..].find('"')?;
    Some(
        rest[start..start + end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests;
