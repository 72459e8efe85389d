//! What a deployment must settle before it runs: secrets every instance
//! on one PostgreSQL database must share, and the warnings an operator
//! should hear at start (`config check` and `serve` say the same).

use super::{EmailTransport, Problem, Settings, SmsTransport};

impl Settings {
    /// Whether several instances may share the database (PostgreSQL).
    pub fn is_shared_database(&self) -> bool {
        let url = self.database.url.expose();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }

    /// On PostgreSQL every instance must hash PINs with the same pepper and
    /// sign with the same key: generated ones would differ per instance, so
    /// they must be given. Empty on SQLite.
    pub fn shared_secret_problems(&self) -> Vec<Problem> {
        if !self.is_shared_database() {
            return Vec::new();
        }
        let mut problems = Vec::new();
        if self.security.pepper.is_none() {
            problems.push(Problem::value(
                "security.pepper",
                "required with a PostgreSQL database, so that every instance hashes PINs alike; \
                 give every instance the same value, e.g. PINGATE__SECURITY__PEPPER=$(openssl rand -hex 32) generated once",
            ));
        }
        match (&self.audit.signing_key, &self.audit.signing_key_file) {
            (None, None) => problems.push(Problem::value(
                "audit.signing_key",
                "required with a PostgreSQL database (or audit.signing_key_file), so that every instance signs checkpoints with one key; \
                 give every instance the same value, e.g. PINGATE__AUDIT__SIGNING_KEY=$(openssl rand -base64 32) generated once",
            )),
            (None, Some(file)) if !file.is_file() => problems.push(Problem::value(
                "audit.signing_key_file",
                format!(
                    "{} does not exist; with a PostgreSQL database it is not generated (each instance would make its own): \
                     create it once with `openssl rand -base64 32 > {}` and give every instance a copy",
                    file.display(),
                    file.display()
                ),
            )),
            _ => {}
        }
        problems
    }

    /// What an operator should know before trusting this configuration.
    pub fn warnings(&self) -> Vec<String> {
        let mut notes = Vec::new();
        notes.extend(self.provider_warnings());
        if self.email.transport == EmailTransport::File || self.sms.transport == SmsTransport::File
        {
            notes.push(
                "a file transport is in use: PINs are written to disk in clear (development only)"
                    .into(),
            );
        }
        if self.security.pepper.is_none() {
            notes.push(format!(
                "security.pepper is not set: {} is used (generated on first start)",
                self.pepper_path().display()
            ));
        }
        if self.audit.signing_key.is_none() {
            notes.push(format!(
                "audit.signing_key is not set: {} is used (generated on first start)",
                self.signing_key_path().display()
            ));
        }
        notes
    }

    /// A file transport on a listener other than loopback writes PINs in
    /// clear on a machine that serves the network: refused unless `--dev`.
    pub fn exposed_file_transport(&self) -> Option<Problem> {
        let file = match (self.email.transport, self.sms.transport) {
            (EmailTransport::File, _) => "email.transport",
            (_, SmsTransport::File) => "sms.transport",
            _ => return None,
        };
        let loopback = self
            .server
            .listen
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback());
        (!loopback).then(|| {
            Problem::value(
                file,
                format!(
                    "\"file\" writes PINs in clear and server.listen ({}) is not a loopback address; \
                     configure smtp/twilio, listen on 127.0.0.1, or pass --dev to accept it",
                    self.server.listen
                ),
            )
        })
    }
}
