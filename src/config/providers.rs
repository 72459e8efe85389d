//! The telephony providers' sections beside Twilio's: what each needs when
//! it is in use, the shape of its values, and what an operator should know
//! about a provider that is half configured.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{Problem, Settings, SmsTransport};

impl Settings {
    /// Telnyx is meant to be used: it sends the SMS or one of its keys is set.
    pub fn telnyx_in_use(&self) -> bool {
        let t = &self.telnyx;
        self.sms.transport == SmsTransport::Telnyx
            || t.public_key.is_some()
            || t.api_key.is_some()
            || t.sms_from.is_some()
    }

    pub(super) fn provider_problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let t = &self.telnyx;
        if let Some(key) = &t.public_key
            && let Err(why) = telnyx_public_key(key)
        {
            out.push(Problem::value("telnyx.public_key", why));
        }
        out.extend(api_base_url_problem("telnyx.api_base_url", &t.api_base_url));
        if self.sms.transport == SmsTransport::Telnyx {
            out.extend(missing_for_sms(
                "telnyx",
                &[
                    ("telnyx.api_key", t.api_key.is_none()),
                    ("telnyx.sms_from", t.sms_from.is_none()),
                ],
            ));
        }
        out.extend(self.plivo_problems());
        out.extend(self.vonage_problems());
        out
    }

    /// What an operator should know about the providers: each warning is
    /// given by `config check` and again when `serve` starts.
    pub fn provider_warnings(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.twilio.auth_token.is_none() {
            notes.push(
                "twilio.auth_token is not set: Twilio webhooks answer 503 until it is".into(),
            );
        }
        if self.telnyx_in_use() && self.telnyx.public_key.is_none() {
            notes.push(
                "telnyx.public_key is not set: Telnyx webhooks will answer 503 until it is \
                 (Mission Control, Keys & Credentials, Public Key)"
                    .into(),
            );
        }
        notes.extend(self.plivo_warning());
        notes.extend(self.vonage_warning());
        notes
    }
}

/// A provider's `api_base_url` must be an HTTP(S) URL.
fn api_base_url_problem(key: &str, url: &str) -> Option<Problem> {
    (!(url.starts_with("http://") || url.starts_with("https://"))).then(|| {
        Problem::value(
            key,
            format!("must start with https:// (or http:// for a local imitation), got {url:?}"),
        )
    })
}

/// The keys (with whether each is missing) a provider's SMS sender needs
/// when `sms.transport` names it: one problem per missing key.
fn missing_for_sms(transport: &str, keys: &[(&str, bool)]) -> Vec<Problem> {
    keys.iter()
        .filter(|(_, missing)| *missing)
        .map(|(key, _)| {
            Problem::value(
                *key,
                format!("required when sms.transport = \"{transport}\""),
            )
        })
        .collect()
}

impl Settings {
    /// The SMS transport in use and where it sends, as `serve` logs it.
    pub fn sms_transport_summary(&self) -> String {
        match self.sms.transport {
            SmsTransport::Twilio => format!("twilio {}", self.twilio.api_base_url),
            SmsTransport::Telnyx => format!("telnyx {}", self.telnyx.api_base_url),
            SmsTransport::Plivo => format!("plivo {}", self.plivo.api_base_url),
            SmsTransport::Vonage => format!("vonage {}", self.vonage.api_base_url),
            SmsTransport::File => format!("file {}", self.sms_file_dir().display()),
        }
    }

    /// The voice provider's account and webhook signing, as `serve` logs
    /// them (never a secret).
    pub fn providers_summary(&self) -> String {
        let t = &self.twilio;
        let mut parts = Vec::new();
        parts.push(match &t.account_sid {
            Some(sid) => format!("account {sid}"),
            None => "no account_sid".into(),
        });
        parts.push(if t.auth_token.is_some() {
            "webhook signing on".into()
        } else {
            "no auth_token".into()
        });
        if !t.webhook_keys.is_empty() {
            parts.push(format!(
                "{} HMAC-SHA256 webhook key(s)",
                t.webhook_keys.len()
            ));
        }
        format!("twilio ({})", parts.join(", "))
    }
}

/// The raw Ed25519 key a `telnyx.public_key` (base64 of 32 bytes) names.
pub fn telnyx_public_key(text: &str) -> Result<[u8; 32], String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|_| "must be the base64 public key from the Telnyx portal".to_string())?;
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        format!(
            "must be base64 of a 32-byte Ed25519 key, got {} bytes",
            bytes.len()
        )
    })?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| "is not a valid Ed25519 public key".to_string())?;
    Ok(key)
}

impl Settings {
    /// Plivo is meant to be used: it sends the SMS or one of its keys is set.
    pub fn plivo_in_use(&self) -> bool {
        let p = &self.plivo;
        self.sms.transport == SmsTransport::Plivo
            || p.auth_id.is_some()
            || p.auth_token.is_some()
            || p.sms_from.is_some()
    }

    fn plivo_problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let p = &self.plivo;
        // It goes into the Message API's path: letters and digits only.
        if let Some(id) = &p.auth_id
            && !((1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            out.push(Problem::value(
                "plivo.auth_id",
                "must be the Auth ID from the Plivo console: 1 to 64 letters and digits",
            ));
        }
        if p.auth_token.as_ref().is_some_and(|t| t.expose().is_empty()) {
            out.push(Problem::value(
                "plivo.auth_token",
                "must not be empty (anyone could sign with an empty token)",
            ));
        }
        out.extend(api_base_url_problem("plivo.api_base_url", &p.api_base_url));
        if self.sms.transport == SmsTransport::Plivo {
            out.extend(missing_for_sms(
                "plivo",
                &[
                    ("plivo.auth_id", p.auth_id.is_none()),
                    ("plivo.auth_token", p.auth_token.is_none()),
                    ("plivo.sms_from", p.sms_from.is_none()),
                ],
            ));
        }
        out
    }

    /// Vonage is meant to be used: it sends the SMS or one of its keys is set.
    pub fn vonage_in_use(&self) -> bool {
        let v = &self.vonage;
        self.sms.transport == SmsTransport::Vonage
            || v.signature_secret.is_some()
            || v.api_key.is_some()
            || v.api_secret.is_some()
            || v.sms_from.is_some()
    }

    fn vonage_problems(&self) -> Vec<Problem> {
        let v = &self.vonage;
        let mut out = Vec::new();
        if v.signature_secret
            .as_ref()
            .is_some_and(|s| s.expose().is_empty())
        {
            out.push(Problem::value(
                "vonage.signature_secret",
                "is empty: anyone could sign a webhook (Dashboard, API settings, Signature secret)",
            ));
        }
        out.extend(api_base_url_problem("vonage.api_base_url", &v.api_base_url));
        if self.sms.transport == SmsTransport::Vonage {
            out.extend(missing_for_sms(
                "vonage",
                &[
                    ("vonage.api_key", v.api_key.is_none()),
                    ("vonage.api_secret", v.api_secret.is_none()),
                    ("vonage.sms_from", v.sms_from.is_none()),
                ],
            ));
        }
        out
    }

    fn plivo_warning(&self) -> Option<String> {
        (self.plivo_in_use() && self.plivo.auth_token.is_none()).then(|| {
            "plivo.auth_token is not set: Plivo webhooks will answer 503 until it is \
             (Plivo console, Overview, Auth Token)"
                .into()
        })
    }

    fn vonage_warning(&self) -> Option<String> {
        (self.vonage_in_use() && self.vonage.signature_secret.is_none()).then(|| {
            "vonage.signature_secret is not set: Vonage webhooks will answer 503 until it is \
             (Dashboard, API settings, Signature secret)"
                .into()
        })
    }
}

#[cfg(test)]
mod tests;
