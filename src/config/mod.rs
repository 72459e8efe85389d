//! Typed settings: loaded from `config/pingate.toml` (every key documented
//! there), overridden by `PINGATE__SECTION__KEY` environment variables, and
//! validated once so the rest of the program holds only sound values. A
//! problem names the key, what is wrong, and the file line or variable.

mod de;
#[cfg(test)]
mod documented;
mod instances;
mod problem;
mod providers;
mod retention;
mod sections;
mod support;
#[cfg(test)]
mod tests;
mod tree;
mod validate;
mod values;

pub use problem::{Problem, ProblemKind};
pub use providers::telnyx_public_key;
pub use retention::RetentionSettings;
pub use sections::{
    AuditSettings, CallerIdTrust, ConsoleSettings, DatabaseSettings, DeliverySettings,
    EmailSettings, EmailTransport, GrantSettings, LimitsSettings, LogFormat, LogSettings,
    PinSettings, PlivoSettings, SecuritySettings, ServerSettings, SmsSettings, SmsTransport,
    TelnyxSettings, TwilioSettings, VoiceRoute, VoiceSettings,
};
pub use support::{HoursSettings, LineSettings, LocalText, SupportSettings};
pub use tree::{ENV_PREFIX, Origin};
pub use values::{HumanDuration, Secret};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    pub telnyx: TelnyxSettings,
    pub plivo: PlivoSettings,
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
    pub retention: RetentionSettings,
    /// Support lines, severities and hours; without it calls go to
    /// `voice.queue` as they always have.
    pub support: Option<SupportSettings>,
}

/// Why a configuration cannot be used, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error(
        "configuration file {0} is a directory; --config takes a file such as {0}/pingate.toml"
    )]
    NotAFile(PathBuf),
    #[error("cannot read configuration file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// Settings and where they came from, for `config check` and the start-up log.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    /// The file read, or `None` when there was none and defaults apply.
    pub file: Option<PathBuf>,
    /// The `PINGATE__...` variables that set keys (names only: values may
    /// be secrets).
    pub env_vars: Vec<String>,
}

impl Loaded {
    /// One line: which file was read, or that defaults apply.
    pub fn source(&self) -> String {
        let file = match &self.file {
            Some(f) => format!("configuration file {}", f.display()),
            None => format!(
                "no configuration file ({DEFAULT_CONFIG_PATH} does not exist); defaults apply"
            ),
        };
        match self.env_vars.len() {
            0 => file,
            _ => format!("{file}; overridden by {}", self.env_vars.join(", ")),
        }
    }
}

impl Settings {
    /// Loads the file (TOML, or JSON by extension) and the process's
    /// environment. `explicit` says whether the operator named the path: a
    /// missing default file means defaults, a missing named one is an error.
    pub fn load(path: &Path, explicit: bool) -> Result<Loaded, ConfigError> {
        Self::load_with_env(path, explicit, std::env::vars())
    }

    pub fn load_with_env(
        path: &Path,
        explicit: bool,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, ConfigError> {
        let text = read_file(path, explicit)?;
        let mut tree = match &text {
            None => tree::Node::empty_table(),
            Some(text) if path.extension().is_some_and(|e| e == "json") => {
                tree::from_json(text, path).map_err(|p| ConfigError::Invalid(vec![p]))?
            }
            Some(text) => tree::from_toml(text, path).map_err(|p| ConfigError::Invalid(vec![p]))?,
        };
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(tree::ENV_PREFIX))
            .collect();
        let env_vars = env.iter().map(|(k, _)| k.clone()).collect();
        tree::merge_env(&mut tree, env);
        let settings = Self::from_tree(tree)?;
        Ok(Loaded {
            settings,
            file: text.map(|_| path.to_path_buf()),
            env_vars,
        })
    }

    /// Parses a TOML text as if it were the file `name` (no environment).
    pub fn from_toml_str(text: &str, name: &Path) -> Result<Settings, ConfigError> {
        let tree = tree::from_toml(text, name).map_err(|p| ConfigError::Invalid(vec![p]))?;
        Self::from_tree(tree)
    }

    /// Types and validates the tree. Every problem is reported, not just
    /// the first: a key that cannot be typed is noted and left out (its
    /// default applies) so the rest can still be typed and checked.
    fn from_tree(mut tree: tree::Node) -> Result<Settings, ConfigError> {
        let mut problems = Vec::new();
        let settings = loop {
            match Settings::deserialize(de::NodeDe::root(&tree)) {
                Ok(s) => break Some(s),
                Err(e) => {
                    let key = e.key().unwrap_or_default().to_string();
                    problems.push(e.into_problem());
                    if key.is_empty() || !tree.remove(&key) {
                        break None;
                    }
                }
            }
        };
        if let Some(s) = &settings {
            problems.extend(s.problems().into_iter().map(|mut p| {
                p.origin = tree.origin_of(&p.key).cloned();
                p
            }));
        }
        for p in &mut problems {
            p.add_range_hint();
        }
        // In the order the operator reads them: the file line by line,
        // then the environment.
        problems.sort_by_key(|p| match &p.origin {
            Some(Origin::File { line, .. }) => (0, line.unwrap_or(usize::MAX)),
            Some(Origin::Env { .. }) => (1, 0),
            None => (2, 0),
        });
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

/// The file's text; `None` when the default file is absent.
fn read_file(path: &Path, explicit: bool) -> Result<Option<String>, ConfigError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if explicit {
                Err(ConfigError::Missing(path.to_path_buf()))
            } else {
                Ok(None)
            }
        }
        Err(source) => Err(ConfigError::Unreadable {
            path: path.to_path_buf(),
            source,
        }),
        Ok(meta) if meta.is_dir() => Err(ConfigError::NotAFile(path.to_path_buf())),
        Ok(_) => {
            std::fs::read_to_string(path)
                .map(Some)
                .map_err(|source| ConfigError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                })
        }
    }
}
