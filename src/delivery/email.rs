//! Email through lettre: SMTP (plain, STARTTLS or TLS as the URL says) or
//! the file transport for development.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use std::path::PathBuf;

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{FailureReason, SendError, SenderError, failure};
use crate::config::{EmailSettings, EmailTransport};

pub enum EmailSender {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// Each message as `<id>.eml` in a directory only the service's user
    /// may read (made when the first message is written).
    File { dir: PathBuf, from: Mailbox },
}

impl EmailSender {
    /// `file_dir` is where the file transport writes (resolved by settings).
    pub fn from_settings(
        s: &EmailSettings,
        file_dir: &std::path::Path,
    ) -> Result<EmailSender, SenderError> {
        let from: Mailbox = s
            .from
            .as_deref()
            .unwrap_or("pingate <pingate@localhost>")
            .parse()
            .map_err(SenderError::FromAddress)?;
        match s.transport {
            EmailTransport::Smtp => {
                let url = s.smtp_url.as_ref().ok_or(SenderError::SmtpUrlMissing)?;
                // The URL may carry credentials: never echo it.
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| SenderError::SmtpUrl)?
                    .timeout(Some(s.timeout.0))
                    .build();
                Ok(EmailSender::Smtp { transport, from })
            }
            EmailTransport::File => Ok(EmailSender::File {
                dir: file_dir.to_path_buf(),
                from,
            }),
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
            EmailSender::File { dir, .. } => {
                let id = uuid::Uuid::new_v4().to_string();
                let failed = |e: std::io::Error| {
                    SendError::Transient(FailureReason::new(format!("file transport: {e}")))
                };
                crate::private_fs::ensure_dir(dir).map_err(failed)?;
                crate::private_fs::write(&dir.join(format!("{id}.eml")), &msg.formatted())
                    .await
                    .map_err(failed)?;
                Ok(Some(id))
            }
        }
    }
}
