//! Email through lettre: SMTP (plain, STARTTLS or TLS as the URL says) or
//! the file transport for development.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{FailureReason, SendError, failure};
use crate::config::{EmailSettings, EmailTransport};

pub enum EmailSender {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    File {
        transport: AsyncFileTransport<Tokio1Executor>,
        from: Mailbox,
    },
}

impl EmailSender {
    /// `file_dir` is where the file transport writes (resolved by settings).
    pub fn from_settings(
        s: &EmailSettings,
        file_dir: &std::path::Path,
    ) -> Result<EmailSender, String> {
        let from: Mailbox = s
            .from
            .as_deref()
            .unwrap_or("pingate <pingate@localhost>")
            .parse()
            .map_err(|e| format!("email.from is not an address: {e}"))?;
        match s.transport {
            EmailTransport::Smtp => {
                let url = s
                    .smtp_url
                    .as_ref()
                    .ok_or("email.smtp_url is required for the smtp transport")?;
                // The URL may carry credentials: never echo it.
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| "email.smtp_url is not a valid SMTP URL".to_string())?
                    .timeout(Some(s.timeout.0))
                    .build();
                Ok(EmailSender::Smtp { transport, from })
            }
            EmailTransport::File => {
                std::fs::create_dir_all(file_dir).map_err(|e| {
                    format!("cannot create email.file_dir {}: {e}", file_dir.display())
                })?;
                Ok(EmailSender::File {
                    transport: AsyncFileTransport::new(file_dir),
                    from,
                })
            }
        }
    }

    /// Sends one email. `message_id` (the outbox id) becomes the
    /// Message-ID, the same on every attempt: lettre sets none, and if a
    /// crash repeats a send the recipient's system can recognise the copy.
    pub async fn send(
        &self,
        message_id: &str,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<Option<String>, SendError> {
        let from = match self {
            EmailSender::Smtp { from, .. } | EmailSender::File { from, .. } => from.clone(),
        };
        let to: Mailbox = to.parse().map_err(|_| {
            SendError::Permanent(FailureReason::new("recipient is not an email address"))
        })?;
        let msg = Message::builder()
            .message_id(Some(format!("<{message_id}@{}>", from.email.domain())))
            .from(from)
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| {
                SendError::Permanent(FailureReason::new(format!("cannot build message: {e}")))
            })?;
        match self {
            EmailSender::Smtp { transport, .. } => match transport.send(msg).await {
                Ok(resp) => Ok(resp.message().next().map(str::to_string)),
                // The reply's text quotes the recipient: keep its code only.
                Err(e) if e.is_permanent() => Err(SendError::Permanent(failure::smtp(&e))),
                Err(e) => Err(SendError::Transient(failure::smtp(&e))),
            },
            EmailSender::File { transport, .. } => {
                transport.send(msg).await.map(Some).map_err(|e| {
                    SendError::Transient(FailureReason::new(format!("file transport: {e}")))
                })
            }
        }
    }
}
