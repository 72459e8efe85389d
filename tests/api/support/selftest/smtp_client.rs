//! The real lettre client against the SMTP server: delivery, encodings,
//! scripted 4xx and 5xx replies, restarts on the same port, and `wait_for`.

use std::time::Duration;

use lettre::AsyncTransport;
use lettre::message::header::ContentTransferEncoding;
use tokio::net::TcpStream;

use crate::support::smtp::{ReceivedMail, SmtpServer};

use super::{WAIT, mail, mailer, plain_mail, text_part};

#[tokio::test]
async fn lettre_delivers_mails_and_body_text_undoes_their_encoding() {
    let server = SmtpServer::start().await;
    let transport = mailer(&server);
    // Lines starting with "." exercise dot-stuffing both ways.
    let ascii = "Your PIN is 482913.\n.\n..leading dots survive\nBye";
    let long =
        "Grüße aus Köln! Ihr Bestätigungscode lautet 482913. 確認コードは482913です。 ".repeat(12);
    let long = format!("{long}\nZeile zwei — mit Gedankenstrich.\n");
    let sent = [
        plain_mail("alice@example.test", ascii),
        plain_mail("bob@example.test", &long),
        mail(
            "carol@example.test",
            text_part(&long, ContentTransferEncoding::QuotedPrintable),
        ),
        mail(
            "dave@example.test",
            text_part(&long, ContentTransferEncoding::Base64),
        ),
    ];
    for message in sent {
        transport
            .send(message)
            .await
            .expect("lettre sends to the test server");
    }

    let mails = server.wait_for(4, WAIT).await;
    assert_eq!(mails.len(), 4);
    assert_eq!(mails[0].from, "pins@pingate.test");
    assert_eq!(mails[0].to, ["alice@example.test"]);
    assert_eq!(mails[0].authenticated_as, None);
    assert_eq!(mails[0].body_text(), ascii);
    assert_eq!(
        mails[0].header("subject").as_deref(),
        Some("Your verification code")
    );
    for received in &mails[1..] {
        let expected = long.trim_end();
        assert_eq!(
            received.body_text(),
            expected,
            "raw message:\n{}",
            received.data
        );
    }
    let encoding = |m: &ReceivedMail| m.header("Content-Transfer-Encoding");
    assert_eq!(encoding(&mails[2]).as_deref(), Some("quoted-printable"));
    assert_eq!(encoding(&mails[3]).as_deref(), Some("base64"));
    assert_eq!(server.transactions_seen(), 4);
    server.shutdown().await;
}

#[test]
fn body_text_handles_quoted_printable_soft_breaks_and_padding() {
    let mail = ReceivedMail {
        from: String::new(),
        to: vec![],
        data: "Content-Type: text/plain; charset=utf-8\r\n\
               Content-Transfer-Encoding:\r\n quoted-printable\r\n\
               \r\n\
               PIN =3D 1234, soft=\r\n\
               ly broken =C3=BC  \r\n\
               second line=20\r\n\
               = kept literally=\r\n\
               \r\n"
            .to_owned(),
        authenticated_as: None,
    };
    assert_eq!(
        mail.body_text(),
        "PIN = 1234, softly broken ü\nsecond line \n= kept literally"
    );
}

#[tokio::test]
async fn scripted_4xx_is_transient_and_the_retry_is_accepted() {
    let server = SmtpServer::start().await;
    let transport = mailer(&server);
    server.fail_next(1, 451, "4.3.0 Try again later");

    let error = transport
        .send(plain_mail("alice@example.test", "PIN 1"))
        .await
        .expect_err("the scripted fault refuses the first transaction");
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(error.status().map(u16::from), Some(451));
    assert!(server.messages().is_empty());

    transport
        .send(plain_mail("alice@example.test", "PIN 2"))
        .await
        .expect("the second transaction is accepted");
    let mails = server.wait_for(1, WAIT).await;
    assert_eq!(mails[0].body_text(), "PIN 2");
    assert_eq!(server.transactions_seen(), 2);
}

#[tokio::test]
async fn scripted_5xx_is_permanent() {
    let server = SmtpServer::start().await;
    let transport = mailer(&server);
    server.fail_next(2, 550, "5.1.1 Mailbox unavailable");
    for _ in 0..2 {
        let error = transport
            .send(plain_mail("gone@example.test", "PIN"))
            .await
            .expect_err("refused");
        assert!(error.is_permanent(), "{error:?}");
    }
    transport
        .send(plain_mail("back@example.test", "PIN"))
        .await
        .expect("faults are used up");
    assert_eq!(server.wait_for(1, WAIT).await[0].to, ["back@example.test"]);
}

#[tokio::test]
async fn a_server_shut_down_can_come_back_on_the_same_port() {
    let first = SmtpServer::start().await;
    let port = first.port();
    first.shutdown().await;
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "nothing listens after shutdown"
    );

    let second = SmtpServer::start_on(port)
        .await
        .expect("the port is free again");
    assert_eq!(second.url(), format!("smtp://127.0.0.1:{port}"));
    mailer(&second)
        .send(plain_mail("alice@example.test", "after the outage"))
        .await
        .expect("delivered to the restarted server");
    second.wait_for(1, WAIT).await;
}

#[tokio::test]
#[should_panic(expected = "expected at least 1 mail(s)")]
async fn wait_for_panics_when_no_mail_arrives() {
    let server = SmtpServer::start().await;
    server.wait_for(1, Duration::from_millis(50)).await;
}
