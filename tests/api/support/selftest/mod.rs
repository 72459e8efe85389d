//! Tests of the support servers themselves: the real lettre client against
//! the SMTP server, raw SMTP dialogues for the protocol corners lettre never
//! reaches, and reqwest against the Messages API imitation.

mod smtp_client;
mod smtp_dialogue;
mod twilio_messages;

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Message, SinglePart};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use crate::support::smtp::SmtpServer;

/// Generous: only reached when something is broken.
const WAIT: Duration = Duration::from_secs(10);

fn mailer(server: &SmtpServer) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(server.port())
        .timeout(Some(WAIT))
        .build()
}

fn mail(to: &str, body: SinglePart) -> Message {
    Message::builder()
        .from("PIN desk <pins@pingate.test>".parse().expect("from"))
        .to(to.parse().expect("to"))
        .subject("Your verification code")
        .singlepart(body)
        .expect("build message")
}

fn text_part(text: &str, encoding: ContentTransferEncoding) -> SinglePart {
    let body = Body::new_with_encoding(text.to_owned(), encoding).expect("encodable body");
    SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(body)
}

fn plain_mail(to: &str, text: &str) -> Message {
    mail(to, SinglePart::plain(text.to_owned()))
}
