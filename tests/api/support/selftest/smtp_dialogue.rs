//! Raw SMTP dialogues for the protocol corners lettre never reaches:
//! sequence errors, pipelining, dot-stuffing, shutdown and AUTH PLAIN.

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::support::smtp::SmtpServer;

use super::{WAIT, plain_mail};

/// A line-level SMTP client for dialogues lettre would never hold.
struct RawSmtp {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl RawSmtp {
    async fn connect(server: &SmtpServer) -> RawSmtp {
        let stream = TcpStream::connect(("127.0.0.1", server.port()))
            .await
            .expect("connect");
        let (read, writer) = stream.into_split();
        let mut client = RawSmtp {
            reader: BufReader::new(read),
            writer,
        };
        assert_eq!(client.reply().await.0, 220);
        client
    }

    async fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).await.expect("write");
    }

    /// Reads one (possibly multi-line) reply: its code and text lines.
    async fn reply(&mut self) -> (u16, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.expect("read reply");
            assert!(
                line.ends_with("\r\n"),
                "reply line {line:?} must end in CRLF"
            );
            let code = line[..3].parse().expect("reply code");
            lines.push(line[4..].trim_end().to_owned());
            if &line[3..4] == " " {
                return (code, lines);
            }
        }
    }

    async fn command(&mut self, line: &str) -> (u16, Vec<String>) {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await
    }

    async fn code(&mut self, line: &str) -> u16 {
        self.command(line).await.0
    }
}

#[tokio::test]
async fn raw_dialogue_covers_sequence_errors_pipelining_and_dot_stuffing() {
    let server = SmtpServer::start().await;
    let mut smtp = RawSmtp::connect(&server).await;
    assert_eq!(
        smtp.code("MAIL FROM:<a@example.test>").await,
        503,
        "EHLO first"
    );
    assert_eq!(smtp.code("EHLO").await, 501, "EHLO needs a domain");

    let (code, lines) = smtp.command("EHLO client.test").await;
    assert_eq!(code, 250);
    for extension in ["8BITMIME", "SMTPUTF8", "PIPELINING", "SIZE 10485760"] {
        assert!(
            lines.iter().any(|l| l == extension),
            "{extension} in {lines:?}"
        );
    }
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("STARTTLS") || l.starts_with("AUTH"))
    );

    assert_eq!(
        smtp.code("RCPT TO:<b@example.test>").await,
        503,
        "MAIL first"
    );
    assert_eq!(smtp.code("DATA").await, 503, "MAIL first");
    assert_eq!(smtp.code("FROB").await, 500);
    assert_eq!(smtp.code("VRFY someone").await, 502);
    assert_eq!(smtp.code("STARTTLS").await, 502);
    assert_eq!(
        smtp.code("AUTH PLAIN AGFhAGI=").await,
        502,
        "AUTH not configured"
    );
    assert_eq!(smtp.code("NOOP").await, 250);
    assert_eq!(
        smtp.code("MAIL FROM:<a@example.test> SIZE=99999999").await,
        552
    );
    assert_eq!(smtp.code("MAIL FROM:<a@example.test> FOO=1").await, 555);

    // A transaction that is reset leaves nothing behind.
    assert_eq!(smtp.code("mail from:<dropped@example.test>").await, 250);
    assert_eq!(smtp.code("RCPT TO:<b@example.test>").await, 250);
    assert_eq!(smtp.code("RSET").await, 250);
    assert_eq!(smtp.code("DATA").await, 503);

    // PIPELINING: the whole envelope in one write, replies in order.
    smtp.send(
        "MAIL FROM:<> BODY=8BITMIME SIZE=100\r\nRCPT TO:<b@example.test>\r\n\
         RCPT TO:<c@example.test>\r\nDATA\r\n",
    )
    .await;
    for expected in [250, 250, 250, 354] {
        assert_eq!(smtp.reply().await.0, expected);
    }
    smtp.send("Subject: dots\r\n\r\n..one\r\n...two\r\nthree.\r\n.\r\n")
        .await;
    assert_eq!(smtp.reply().await.0, 250);
    assert_eq!(smtp.code("QUIT").await, 221);

    let mails = server.wait_for(1, WAIT).await;
    assert_eq!(mails[0].from, "");
    assert_eq!(mails[0].to, ["b@example.test", "c@example.test"]);
    assert_eq!(
        mails[0].data,
        "Subject: dots\r\n\r\n.one\r\n..two\r\nthree.\r\n"
    );
    assert_eq!(mails[0].body_text(), ".one\n..two\nthree.");
}

#[tokio::test]
async fn shutdown_says_421_and_closes_open_sessions() {
    let server = SmtpServer::start().await;
    let mut smtp = RawSmtp::connect(&server).await;
    assert_eq!(smtp.code("EHLO client.test").await, 250);
    server.shutdown().await;
    assert_eq!(smtp.reply().await.0, 421);
    let mut rest = Vec::new();
    smtp.reader
        .read_to_end(&mut rest)
        .await
        .expect("read to end");
    assert!(rest.is_empty(), "the connection is closed");
}

#[tokio::test]
async fn auth_plain_is_offered_and_required_only_when_configured() {
    let server = SmtpServer::start_with_auth("mailer", "s3cret").await;
    let send_as = async |user: Option<&str>, password: &str| {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(server.port())
            .timeout(Some(WAIT));
        if let Some(user) = user {
            let credentials = Credentials::new(user.to_owned(), password.to_owned());
            builder = builder.credentials(credentials);
        }
        builder
            .build::<Tokio1Executor>()
            .send(plain_mail("alice@example.test", "authenticated"))
            .await
    };
    send_as(Some("mailer"), "s3cret")
        .await
        .expect("AUTH PLAIN succeeds");
    let wrong = send_as(Some("mailer"), "guess")
        .await
        .expect_err("wrong password");
    assert_eq!(wrong.status().map(u16::from), Some(535));
    let anonymous = send_as(None, "").await.expect_err("AUTH is required");
    assert_eq!(anonymous.status().map(u16::from), Some(530));

    // Without an initial response the server asks with an empty 334.
    let mut smtp = RawSmtp::connect(&server).await;
    let (_, extensions) = smtp.command("EHLO client.test").await;
    assert!(
        extensions.iter().any(|l| l == "AUTH PLAIN"),
        "{extensions:?}"
    );
    assert_eq!(smtp.code("AUTH PLAIN").await, 334);
    assert_eq!(smtp.code("AG1haWxlcgBzM2NyZXQ=").await, 235); // \0mailer\0s3cret
    assert_eq!(smtp.code("AUTH PLAIN AG1haWxlcgBzM2NyZXQ=").await, 503);

    let mails = server.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].authenticated_as.as_deref(), Some("mailer"));
}
