//! Tests of the support servers themselves: the real lettre client against
//! the SMTP server, raw SMTP dialogues for the protocol corners lettre never
//! reaches, and reqwest against the Messages API imitation.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Message, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::messages_api::MessagesApi;
use super::smtp::{ReceivedMail, SmtpServer};

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

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "test-auth-token";

async fn post_message(
    api: &MessagesApi,
    account: &str,
    token: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!(
            "{}/2010-04-01/Accounts/{account}/Messages.json",
            api.base_url()
        ))
        .basic_auth(ACCOUNT, Some(token))
        .form(form)
        .send()
        .await
        .expect("the Messages API answers")
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

#[tokio::test]
async fn accepted_message_gets_201_and_a_twilio_message_resource() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let form = [
        ("To", "+14155550100"),
        ("From", "+14155550199"),
        ("Body", "Your PIN is 482913"),
        (
            "StatusCallback",
            "https://pingate.test/webhooks/twilio/status",
        ),
    ];
    let response = post_message(&api, ACCOUNT, TOKEN, &form).await;
    assert_eq!(response.status(), 201);
    let resource = json_of(response).await;

    let sid = resource["sid"].as_str().expect("sid");
    assert!(sid.len() == 34 && sid.starts_with("SM"), "{sid}");
    assert!(
        sid[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(resource["account_sid"], ACCOUNT);
    assert_eq!(resource["to"], "+14155550100");
    assert_eq!(resource["from"], "+14155550199");
    assert_eq!(resource["body"], "Your PIN is 482913");
    assert_eq!(resource["status"], "queued");
    assert_eq!(resource["num_segments"], "1");
    assert_eq!(resource["direction"], "outbound-api");
    assert_eq!(resource["api_version"], "2010-04-01");
    assert_eq!(
        resource["uri"],
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json")
    );
    for null in ["error_code", "error_message", "price"] {
        assert!(resource[null].is_null(), "{null} is null");
    }
    let created = resource["date_created"].as_str().expect("date_created");
    time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc2822)
        .unwrap_or_else(|e| panic!("{created} is RFC 2822: {e}"));

    let sent = api.wait_for(1, WAIT).await;
    assert_eq!(sent[0].sid, sid);
    assert_eq!(sent[0].to, "+14155550100");
    assert_eq!(sent[0].from, "+14155550199");
    assert_eq!(sent[0].body, "Your PIN is 482913");
    assert_eq!(
        sent[0].status_callback.as_deref(),
        Some("https://pingate.test/webhooks/twilio/status")
    );
    assert_eq!(api.requests_seen(), 1);
    api.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_or_account_get_twilio_401() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let form = [
        ("To", "+14155550100"),
        ("From", "+14155550199"),
        ("Body", "x"),
    ];
    let other = "AC00000000000000000000000000000000";
    for (account, token) in [(ACCOUNT, "wrong-token"), (other, TOKEN)] {
        let response = post_message(&api, account, token, &form).await;
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
        assert_eq!(
            json_of(response).await,
            serde_json::json!({
                "code": 20003,
                "message": "Authenticate",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401
            })
        );
    }
    let unauthenticated = reqwest::Client::new()
        .post(format!(
            "{}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
            api.base_url()
        ))
        .form(&form)
        .send()
        .await
        .expect("answer");
    assert_eq!(unauthenticated.status(), 401);
    assert!(api.messages().is_empty());
    assert_eq!(api.requests_seen(), 3);
}

#[tokio::test]
async fn invalid_parameters_get_twilio_400_codes() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let cases: [(&[(&str, &str)], u32); 6] = [
        (&[("From", "+14155550199"), ("Body", "x")], 21604),
        (
            &[
                ("To", "4155550100"),
                ("From", "+14155550199"),
                ("Body", "x"),
            ],
            21211,
        ),
        (
            &[("To", "+0155"), ("From", "+14155550199"), ("Body", "x")],
            21211,
        ),
        (&[("To", "+14155550100"), ("Body", "x")], 21603),
        (
            &[
                ("To", "+14155550100"),
                ("From", "+14155550199"),
                ("Body", ""),
            ],
            21602,
        ),
        (&[("To", "+14155550100"), ("From", "+14155550199")], 21602),
    ];
    for (form, code) in cases {
        let response = post_message(&api, ACCOUNT, TOKEN, form).await;
        assert_eq!(response.status(), 400, "{form:?}");
        let error = json_of(response).await;
        assert_eq!(error["code"], code, "{form:?}: {error}");
        assert_eq!(error["status"], 400);
        assert_eq!(
            error["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}")
        );
    }
    let invalid_to = post_message(&api, ACCOUNT, TOKEN, cases[1].0).await;
    assert_eq!(
        json_of(invalid_to).await["message"],
        "The 'To' number 4155550100 is not a valid phone number."
    );
    assert!(api.messages().is_empty());
}

#[tokio::test]
async fn messaging_service_and_segment_counts_follow_twilio() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let service = "MG0123456789abcdef0123456789abcdef";
    let gsm_161 = "a".repeat(161);
    // "€" is in the GSM-7 extension table: two septets each.
    let extended_81 = "€".repeat(81);
    let ucs2_71 = "ü€確".repeat(23) + "ab";
    let cases = [
        ("x", "1"),
        (gsm_161.as_str(), "2"),
        (extended_81.as_str(), "2"),
        (ucs2_71.as_str(), "2"),
    ];
    for (body, segments) in cases {
        let form = [
            ("To", "+14155550100"),
            ("MessagingServiceSid", service),
            ("Body", body),
        ];
        let resource = json_of(post_message(&api, ACCOUNT, TOKEN, &form).await).await;
        assert_eq!(resource["num_segments"], segments, "{body}");
        assert_eq!(resource["status"], "accepted");
        assert!(resource["from"].is_null());
        assert_eq!(resource["messaging_service_sid"], service);
    }
    let sent = api.wait_for(4, WAIT).await;
    assert_eq!(sent[0].from, "");
    assert_eq!(sent[0].messaging_service_sid.as_deref(), Some(service));
}

#[tokio::test]
async fn scripted_failures_come_first_then_messages_are_accepted() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    api.fail_next(1, 429, 20429);
    api.fail_next(1, 500, 20500);
    api.fail_next(1, 400, 21610);
    api.set_retry_after(7);
    let form = [
        ("To", "+14155550100"),
        ("From", "+14155550199"),
        ("Body", "PIN"),
    ];

    let limited = post_message(&api, ACCOUNT, TOKEN, &form).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert_eq!(json_of(limited).await["code"], 20429);
    let broken = post_message(&api, ACCOUNT, TOKEN, &form).await;
    assert_eq!(broken.status(), 500);
    assert_eq!(json_of(broken).await["code"], 20500);
    let unsubscribed = json_of(post_message(&api, ACCOUNT, TOKEN, &form).await).await;
    assert_eq!(unsubscribed["code"], 21610);
    assert_eq!(unsubscribed["status"], 400);
    assert!(api.messages().is_empty());

    let accepted = post_message(&api, ACCOUNT, TOKEN, &form).await;
    assert_eq!(accepted.status(), 201);
    assert_eq!(api.wait_for(1, WAIT).await.len(), 1);
    assert_eq!(api.requests_seen(), 4);
}

#[tokio::test]
async fn messages_api_stops_answering_after_shutdown() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let port = api.port();
    let other = reqwest::Client::new()
        .get(format!(
            "{}/2010-04-01/Accounts/{ACCOUNT}/Calls.json",
            api.base_url()
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(other.status(), 404);
    assert_eq!(json_of(other).await["code"], 20404);
    api.shutdown().await;
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}
