//! Delivery of PINs and notices. Messages are queued in the database in the
//! same transaction as the change that causes them ([`enqueue`]), then
//! sent by the outbox worker ([`worker`]), retried with backoff and full
//! jitter on transient errors, and finished as sent, failed or dead.

pub mod email;
pub mod failure;
pub mod reports;
pub mod seal;
pub mod sms;
pub mod templates;
pub mod worker;

use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::Millis;
use crate::domain::message::{MessageKind, MessageStatus};
use crate::domain::org::Channel;
use crate::ids;
use crate::store::messages::{self, MessageRow};
use crate::store::{StoreError, WriteTx};

pub use failure::FailureReason;
pub use seal::Sealer;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("transient: {0}")]
    Transient(FailureReason),
    /// Transient, and the provider said when to try again (`Retry-After`,
    /// in milliseconds): the next attempt is not made earlier.
    #[error("transient: {0}")]
    Throttled(FailureReason, i64),
    #[error("permanent: {0}")]
    Permanent(FailureReason),
}

/// A sender that cannot be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("email.from is not an address: {0}")]
    FromAddress(#[source] lettre::address::AddressError),
    #[error("email.smtp_url is required for the smtp transport")]
    SmtpUrlMissing,
    /// The URL may carry credentials: never echoed.
    #[error("email.smtp_url is not a valid SMTP URL")]
    SmtpUrl,
    #[error("cannot build HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// A message that could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sealing a message body: {0}")]
    Seal(#[from] seal::SealError),
}

pub struct Senders {
    pub email: email::EmailSender,
    pub sms: sms::SmsSender,
}

/// What to queue: everything but the sealed body is stored in clear.
pub struct Outgoing<'a> {
    pub kind: MessageKind,
    pub channel: Channel,
    pub org_id: &'a str,
    pub call_id: Option<&'a str>,
    pub challenge_id: Option<&'a str>,
    pub grant_id: Option<&'a str>,
    pub destination: &'a str,
    pub destination_masked: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Queues a message inside `tx` and records it in the audit trail.
pub async fn enqueue(
    tx: &mut WriteTx,
    sealer: &Sealer,
    out: Outgoing<'_>,
) -> Result<String, EnqueueError> {
    let id = ids::message_id();
    let sealed = sealer.seal(out.body, &id)?;
    insert_sealed(tx, &id, &out, sealed).await?;
    Ok(id)
}

async fn insert_sealed(
    tx: &mut WriteTx,
    id: &str,
    out: &Outgoing<'_>,
    sealed: Vec<u8>,
) -> Result<(), StoreError> {
    let now: Millis = tx.now();
    let row = MessageRow {
        id: id.to_string(),
        kind: out.kind,
        channel: out.channel,
        org_id: out.org_id.to_string(),
        call_id: out.call_id.map(str::to_string),
        challenge_id: out.challenge_id.map(str::to_string),
        grant_id: out.grant_id.map(str::to_string),
        destination: out.destination.to_string(),
        destination_masked: out.destination_masked.to_string(),
        subject: out.subject.to_string(),
        body_sealed: Some(sealed),
        status: MessageStatus::Queued,
        attempts: 0,
        next_attempt_at: now,
        lease_until: None,
        provider_message_id: None,
        last_error: None,
        created_at: now,
        updated_at: now,
    };
    messages::insert(tx.conn(), &row).await?;
    let mut ev = NewEvent::new(EventKind::MessageQueued, "system", Outcome::Success)
        .org(out.org_id)
        .detail("message_id", id)
        .detail("message_kind", out.kind.as_str())
        .detail("channel", out.channel.as_str())
        .detail("destination", out.destination_masked);
    if let Some(c) = out.call_id {
        ev = ev.call(c);
    }
    if let Some(c) = out.challenge_id {
        ev = ev.challenge(c);
    }
    if let Some(g) = out.grant_id {
        ev = ev.grant(g);
    }
    tx.audit(ev);
    Ok(())
}

#[cfg(test)]
mod tests;
