//! Typed settings: loaded from `config/pingate.toml` (every key documented
//! there), overridden by `PINGATE__SECTION__KEY` environment variables, and
//! validated once so the rest of the program holds only sound values.

mod sections;
mod support;
#[cfg(test)]
mod tests;
mod validate;
mod values;

pub use sections::{
    AuditSettings, CallerIdTrust, ConsoleSettings, DatabaseSettings, DeliverySettings,
    EmailSettings, EmailTransport, GrantSettings, LimitsSettings, LogFormat, LogSettings,
    PinSettings, SecuritySettings, ServerSettings, SmsSettings, SmsTransport, TwilioSettings,
    VoiceRoute, VoiceSettings,
};
pub use support::{HoursSettings, LineSettings, LocalText, SupportSettings};
pub use values::{HumanDuration, Secret};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Json, Toml};
use serde::{Deserialize, Serialize};

/// The file read when no `--config` is given; a missing default file is
/// fine (defaults apply), a missing explicit one is an error.
pub const DEFAULT_CONFIG_PATH: &str = "config/pingate.toml";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub twilio: TwilioSettings,
    pub voice: VoiceSettings,
    pub email: EmailSettings,
    pub sms: SmsSettings,
    pub pin: PinSettings,
    pub grant: GrantSettings,
    pub security: SecuritySettings,
    pub audit: AuditSettings,
    pub limits: LimitsSettings,
    pub delivery: DeliverySettings,
    pub log: LogSettings,
    pub console: ConsoleSettings,
    /// Support lines, severities and hours; without it calls go to
    /// `voice.queue` as they always have.
    pub support: Option<SupportSettings>,
}

/// What is wrong with a configuration, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("{0}")]
    Parse(String),
    #[error("configuration is invalid:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

impl Settings {
    /// Loads the file (TOML, or JSON by extension) and the environment.
    /// `explicit` says whether the path was named by the operator.
    pub fn load(path: &Path, explicit: bool) -> Result<Settings, ConfigError> {
        if explicit && !path.exists() {
            return Err(ConfigError::Missing(path.to_path_buf()));
        }
        let mut figment = Figment::new();
        if path.exists() {
            figment = if path.extension().is_some_and(|e| e == "json") {
                figment.merge(Json::file(path))
            } else {
                figment.merge(Toml::file(path))
            };
        }
        let figment = figment.merge(Env::prefixed("PINGATE__").split("__"));
        Self::from_figment(figment)
    }

    /// Extracts and validates. Unknown keys are reported with every other
    /// problem (not just the first), then left out so the values that are
    /// there can still be checked.
    pub fn from_figment(figment: Figment) -> Result<Settings, ConfigError> {
        let raw: serde_json::Value = figment
            .extract()
            .map_err(|e| ConfigError::Parse(figment_errors(e).join("\n")))?;
        let known = serde_json::to_value(Settings::default()).unwrap_or_default();
        let mut problems = Vec::new();
        let cleaned = strip_unknown(raw, &known, "", &mut problems);
        let settings = match Figment::from(figment::providers::Serialized::defaults(cleaned))
            .extract::<Settings>()
        {
            Ok(s) => Some(s),
            Err(e) => {
                problems.extend(figment_errors(e));
                None
            }
        };
        if let Some(s) = &settings
            && let Err(ConfigError::Invalid(more)) = s.validate()
        {
            problems.extend(more);
        }
        match settings {
            Some(s) if problems.is_empty() => Ok(s),
            _ => Err(ConfigError::Invalid(problems)),
        }
    }

    pub fn listen_addr(&self) -> SocketAddr {
        // validate() guarantees this parses.
        self.server
            .listen
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }

    /// Where the email file transport writes.
    pub fn email_file_dir(&self) -> PathBuf {
        self.email
            .file_dir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("outbox"))
    }

    /// Where the SMS file transport writes.
    pub fn sms_file_dir(&self) -> PathBuf {
        self.sms
            .file_dir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("outbox"))
    }

    pub fn pepper_path(&self) -> PathBuf {
        self.server.data_dir.join("pepper")
    }

    pub fn signing_key_path(&self) -> PathBuf {
        self.audit
            .signing_key_file
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("audit-signing.key"))
    }
}

/// Figment's messages, without its profile prefix ("default.").
fn figment_errors(e: figment::Error) -> Vec<String> {
    e.into_iter()
        .map(|e| e.to_string().replace("for key \"default.", "for key \""))
        .collect()
}

/// Removes keys the settings do not have, naming each. An empty object in
/// `known` is an open map (e.g. `twilio.webhook_keys`).
fn strip_unknown(
    value: serde_json::Value,
    known: &serde_json::Value,
    path: &str,
    problems: &mut Vec<String>,
) -> serde_json::Value {
    use serde_json::Value;
    match (value, known) {
        (Value::Object(map), Value::Object(k)) if !k.is_empty() => Value::Object(
            map.into_iter()
                .filter_map(|(key, v)| {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match k.get(&key) {
                        Some(kv) => Some((key, strip_unknown(v, kv, &here, problems))),
                        None => {
                            problems.push(format!(
                                "{here}: unknown key (not a pingate setting; check the spelling)"
                            ));
                            None
                        }
                    }
                })
                .collect(),
        ),
        (v, _) => v,
    }
}
