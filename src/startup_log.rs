//! What `pingate serve` tells an operator when it starts: which
//! configuration, database (never its password), transports and providers
//! are in use, and the warnings `config check` gives. Facts are gathered
//! before the server builds its state, so "keys will be generated" is known.

use crate::config::{EmailTransport, Settings, SmsTransport};

/// One thing worth saying at start, and how loudly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    Info(&'static str, String),
    Warning(String),
}

/// A URL with any password (in the authority or a `password` query
/// parameter) replaced by `***`; text that is not a URL is shown as is.
pub fn redacted_url(raw: &str) -> String {
    let Ok(mut url) = reqwest::Url::parse(raw) else {
        return raw.to_string();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.to_ascii_lowercase().contains("password");
                (
                    k.into_owned(),
                    if secret { "***".into() } else { v.into_owned() },
                )
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

fn transports(s: &Settings) -> (String, String) {
    let email = match s.email.transport {
        EmailTransport::Smtp => format!(
            "smtp {}",
            s.email
                .smtp_url
                .as_ref()
                .map_or("(no email.smtp_url)".to_string(), |u| redacted_url(
                    u.expose()
                ))
        ),
        EmailTransport::File => format!("file {}", s.email_file_dir().display()),
    };
    let sms = s.sms_transport_summary();
    (email, sms)
}

fn warnings(s: &Settings, pepper_exists: bool, signing_key_exists: bool) -> Vec<String> {
    let mut out = s.provider_warnings();
    if s.email.transport == EmailTransport::File || s.sms.transport == SmsTransport::File {
        out.push(
            "a file transport is in use: PINs are written to disk in clear (development only)"
                .into(),
        );
    }
    if s.security.pepper.is_none() && !pepper_exists {
        out.push(format!(
            "security.pepper is not set: a new one is generated into {}",
            s.pepper_path().display()
        ));
    }
    if !signing_key_exists {
        out.push(format!(
            "no audit signing key: a new one is generated into {}",
            s.signing_key_path().display()
        ));
    }
    out
}

/// Everything to say at start, in order.
pub fn facts(s: &Settings, config_source: &str) -> Vec<Fact> {
    let (email, sms) = transports(s);
    let mut out = vec![
        Fact::Info("configuration", config_source.to_string()),
        Fact::Info("database", redacted_url(s.database.url.expose())),
        Fact::Info("listen", s.server.listen.clone()),
        Fact::Info("public base URL", s.server.public_base_url.clone()),
        Fact::Info("email transport", email),
        Fact::Info("sms transport", sms),
        Fact::Info("providers", s.providers_summary()),
    ];
    let pepper = s.pepper_path().exists();
    let signing = s.signing_key_path().exists();
    out.extend(warnings(s, pepper, signing).into_iter().map(Fact::Warning));
    out
}

/// Logs the facts, one line each.
pub fn log(facts: &[Fact]) {
    for f in facts {
        match f {
            Fact::Info(what, value) => tracing::info!(value = %value, "{what}"),
            Fact::Warning(w) => tracing::warn!("{w}"),
        }
    }
}

#[cfg(test)]
mod tests;
