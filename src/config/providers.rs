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
        let api = t.api_base_url.as_str();
        if !(api.starts_with("http://") || api.starts_with("https://")) {
            out.push(Problem::value(
                "telnyx.api_base_url",
                format!("must start with https:// (or http:// for a local imitation), got {api:?}"),
            ));
        }
        if self.sms.transport == SmsTransport::Telnyx {
            for (key, missing) in [
                ("telnyx.api_key", t.api_key.is_none()),
                ("telnyx.sms_from", t.sms_from.is_none()),
            ] {
                if missing {
                    out.push(Problem::value(
                        key,
                        "required when sms.transport = \"telnyx\"",
                    ));
                }
            }
        }
        out.extend(self.vonage_problems());
        out
    }

    pub fn provider_warnings(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.telnyx_in_use() && self.telnyx.public_key.is_none() {
            notes.push(
                "telnyx.public_key is not set: Telnyx webhooks will answer 503 until it is \
                 (Mission Control, Keys & Credentials, Public Key)"
                    .into(),
            );
        }
        notes.extend(self.vonage_warnings());
        notes
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
        let api = v.api_base_url.as_str();
        if !(api.starts_with("http://") || api.starts_with("https://")) {
            out.push(Problem::value(
                "vonage.api_base_url",
                format!("must start with https:// (or http:// for a local imitation), got {api:?}"),
            ));
        }
        if self.sms.transport == SmsTransport::Vonage {
            for (key, missing) in [
                ("vonage.api_key", v.api_key.is_none()),
                ("vonage.api_secret", v.api_secret.is_none()),
                ("vonage.sms_from", v.sms_from.is_none()),
            ] {
                if missing {
                    out.push(Problem::value(
                        key,
                        "required when sms.transport = \"vonage\"",
                    ));
                }
            }
        }
        out
    }

    fn vonage_warnings(&self) -> Vec<String> {
        if self.vonage_in_use() && self.vonage.signature_secret.is_none() {
            vec![
                "vonage.signature_secret is not set: Vonage webhooks will answer 503 until it is \
                 (Dashboard, API settings, Signature secret)"
                    .into(),
            ]
        } else {
            Vec::new()
        }
    }
}
