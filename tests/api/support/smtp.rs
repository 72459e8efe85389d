//! A small but real SMTP server (an RFC 5321 subset) on 127.0.0.1.
//!
//! The application's own SMTP client (lettre) talks to it over TCP exactly as
//! it would to a relay, so the tests cover the real wire path: EHLO
//! negotiation, envelope, dot-stuffing, reply codes and retries. It offers no
//! STARTTLS (lettre's `builder_dangerous` speaks plain SMTP), and AUTH only
//! when started with credentials.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// The name the server gives itself in its greeting and EHLO reply.
const SERVER_NAME: &str = "smtp.pingate.test";
/// Advertised through the SIZE extension and enforced at the end of DATA.
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
/// RFC 5321 allows 512 octets for a command line; the slack tolerates
/// clients that add long parameters without letting a runaway line grow
/// without bound.
const MAX_COMMAND_LINE: u64 = 4096;
/// RFC 5321 section 4.5.3.1.8 requires accepting at least 100 recipients.
const MAX_RECIPIENTS: usize = 100;

/// One message the server accepted (answered 250 at the end of DATA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The reverse path of MAIL FROM, without angle brackets ("" for `<>`).
    pub from: String,
    /// The forward paths of every accepted RCPT TO, in order.
    pub to: Vec<String>,
    /// The message as received, headers included, dot-stuffing undone.
    pub data: String,
    /// The user name of a successful AUTH in this session, if any.
    pub authenticated_as: Option<String>,
}

impl ReceivedMail {
    /// The value of the first header called `name` (case-insensitive),
    /// unfolded and trimmed. RFC 2047 encoded words (lettre's form for a
    /// non-ASCII Subject) are returned as they are.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = split_message(&self.data);
        raw_header(headers, name).map(|value| value.trim().to_owned())
    }

    /// The text of a single-part text/plain message with its
    /// Content-Transfer-Encoding (7bit, 8bit, quoted-printable or base64)
    /// undone, line endings normalised to `\n` and trailing line breaks
    /// dropped: SMTP framing and lettre's MIME formatting each append one,
    /// so they say nothing about the text the application wrote.
    ///
    /// Panics on a multipart message or a body that is not UTF-8: both would
    /// mean the application sent something other than what the tests expect.
    pub fn body_text(&self) -> String {
        let (headers, body) = split_message(&self.data);
        if let Some(content_type) = raw_header(headers, "Content-Type") {
            assert!(
                content_type
                    .trim()
                    .to_ascii_lowercase()
                    .starts_with("text/plain"),
                "body_text handles single-part text/plain only, got Content-Type: {content_type}"
            );
        }
        let encoding = raw_header(headers, "Content-Transfer-Encoding")
            .map(|value| value.trim().to_ascii_lowercase());
        let bytes = match encoding.as_deref() {
            Some("base64") => {
                let compact: String = body.split_ascii_whitespace().collect();
                BASE64
                    .decode(compact)
                    .unwrap_or_else(|err| panic!("body is not valid base64 ({err}):\n{body}"))
            }
            Some("quoted-printable") => decode_quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8(bytes)
            .unwrap_or_else(|err| panic!("decoded body is not UTF-8: {err}"))
            .replace("\r\n", "\n")
            .trim_end_matches('\n')
            .to_owned()
    }
}

/// State shared between the handle the test holds and the connection tasks.
struct Shared {
    mails: Mutex<Vec<ReceivedMail>>,
    /// The number of accepted mails; a watch channel so `wait_for` wakes on
    /// the change itself instead of polling.
    accepted: watch::Sender<usize>,
    /// Replies scripted by [`SmtpServer::fail_next`], e.g. "451 4.3.0 ...".
    faults: Mutex<VecDeque<String>>,
    transactions: AtomicUsize,
    credentials: Option<(String, String)>,
}

/// Locks a mutex even if a panicking test thread poisoned it, so one failed
/// assertion does not cascade into unrelated panics in the server.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An SMTP server listening on 127.0.0.1 until shut down or dropped.
pub struct SmtpServer {
    port: u16,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Starts a server without AUTH on a free port.
    pub async fn start() -> SmtpServer {
        Self::start_on(0)
            .await
            .expect("bind the test SMTP server on 127.0.0.1")
    }

    /// Starts a server without AUTH on `port` (0 picks a free one), so a test
    /// can bring a server back on the port its predecessor had.
    pub async fn start_on(port: u16) -> io::Result<SmtpServer> {
        Self::bind(port, None).await
    }

    /// Starts a server that advertises `AUTH PLAIN` and refuses MAIL
    /// until the client has authenticated as `user` with `password`.
    pub async fn start_with_auth(user: &str, password: &str) -> SmtpServer {
        Self::bind(0, Some((user.to_owned(), password.to_owned())))
            .await
            .expect("bind the test SMTP server on 127.0.0.1")
    }

    async fn bind(port: u16, credentials: Option<(String, String)>) -> io::Result<SmtpServer> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            mails: Mutex::new(Vec::new()),
            accepted: watch::Sender::new(0),
            faults: Mutex::new(VecDeque::new()),
            transactions: AtomicUsize::new(0),
            credentials,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        Ok(SmtpServer {
            port,
            shared,
            stop,
            task: Some(task),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`, the form of an SMTP URL in configuration.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every accepted message so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.mails).clone()
    }

    /// How many transactions reached the end of DATA, whether accepted or
    /// refused by a scripted fault: the number of delivery attempts.
    pub fn transactions_seen(&self) -> usize {
        self.shared.transactions.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` messages were accepted and returns them all.
    /// Panics after `timeout`: in a test a missing mail is a failure.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let mut accepted = self.shared.accepted.subscribe();
        let arrived = matches!(
            tokio::time::timeout(timeout, accepted.wait_for(|count| *count >= n)).await,
            Ok(Ok(_))
        );
        let mails = self.messages();
        assert!(
            arrived,
            "expected at least {n} mail(s) on {} within {timeout:?}, got {}: {mails:#?}",
            self.url(),
            mails.len()
        );
        mails
    }

    /// The next `n` transactions are answered `code text` at the end of DATA
    /// instead of 250, and their messages are not recorded: 4xx is a
    /// transient failure the sender should retry, 5xx a permanent one.
    pub fn fail_next(&self, n: usize, code: u16, text: &str) {
        // A line break would end the reply early and desynchronise the client.
        let reply = format!("{code} {}", text.replace(['\r', '\n'], " "));
        lock(&self.shared.faults).extend(std::iter::repeat_n(reply, n));
    }

    /// Stops listening, says 421 to every open session and closes it; when
    /// this returns the port is free for [`SmtpServer::start_on`].
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            task.await.expect("the SMTP accept loop panicked");
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // Without an explicit shutdown the tasks still end on their own, so
        // a test that forgets does not leak a listener into the next one.
        self.stop.send_replace(true);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut sessions = JoinSet::new();
    // Sessions get their own receiver: `stop` is borrowed by the select.
    let session_stop = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // An accept error (e.g. the peer reset before accept) concerns
                // that one connection only; keep serving the others.
                if let Ok((stream, _)) = accepted {
                    sessions.spawn(serve_session(stream, Arc::clone(&shared), session_stop.clone()));
                }
            }
            _ = stop.wait_for(|stopped| *stopped) => break,
            // Reap finished sessions so a long test does not accumulate them.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    // Close the listening socket before waiting for sessions so that new
    // connections are refused at once.
    drop(listener);
    while sessions.join_next().await.is_some() {}
}

/// Runs `work` unless the server is told to stop first; `None` means stop.
async fn unless_stopped<F: Future>(stop: &mut watch::Receiver<bool>, work: F) -> Option<F::Output> {
    tokio::select! {
        output = work => Some(output),
        _ = stop.wait_for(|stopped| *stopped) => None,
    }
}

/// The per-connection protocol state.
#[derive(Default)]
struct Session {
    greeted: bool,
    authenticated_as: Option<String>,
    /// Set by MAIL FROM: a mail transaction is open.
    from: Option<String>,
    to: Vec<String>,
}

impl Session {
    fn reset_transaction(&mut self) {
        self.from = None;
        self.to.clear();
    }
}

/// One client connection: buffered reads for line framing, unbuffered
/// writes so that every reply leaves at once.
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

/// What the client sent between DATA and the terminating ".".
enum MailData {
    Complete(Vec<u8>),
    /// Over [`MAX_MESSAGE_BYTES`]: read to its end to stay in step with the
    /// client, but not kept.
    TooBig,
}

impl Conn {
    async fn reply(&mut self, line: &str) -> io::Result<()> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
    }

    /// One command line including its `\n`; `None` at end of stream. A line
    /// without `\n` was cut at [`MAX_COMMAND_LINE`].
    async fn command_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let mut limited = (&mut self.reader).take(MAX_COMMAND_LINE);
        let n = limited.read_until(b'\n', &mut line).await?;
        Ok((n > 0).then_some(line))
    }

    /// The mail data up to the line holding a single ".", dot-stuffing
    /// undone; `None` if the stream ends first.
    async fn data(&mut self) -> io::Result<Option<MailData>> {
        let (mut data, mut too_big, mut line) = (Vec::new(), false, Vec::new());
        loop {
            line.clear();
            if self.reader.read_until(b'\n', &mut line).await? == 0 {
                return Ok(None);
            }
            if line == b".\r\n" || line == b".\n" {
                let data = if too_big {
                    MailData::TooBig
                } else {
                    MailData::Complete(data)
                };
                return Ok(Some(data));
            }
            let content = line.strip_prefix(b".").unwrap_or(&line);
            too_big |= data.len() + content.len() > MAX_MESSAGE_BYTES;
            if !too_big {
                data.extend_from_slice(content);
            }
        }
    }

    /// Sends a 334 challenge and returns the client's base64 answer decoded;
    /// `None` when it is not base64, which covers the `*` that cancels.
    async fn challenge(&mut self, prompt: &str) -> io::Result<Option<String>> {
        self.reply(&format!("334 {prompt}")).await?;
        let line = self.command_line().await?.unwrap_or_default();
        Ok(decode_base64_text(&String::from_utf8_lossy(&line)))
    }
}

const SHUTTING_DOWN: &str = "421 4.3.2 Service shutting down";

async fn serve_session(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let (read, writer) = stream.into_split();
    let reader = BufReader::new(read);
    // An I/O error means the client went away: nothing is left to answer.
    let _ = converse(&mut Conn { reader, writer }, &shared, &mut stop).await;
}

async fn converse(
    conn: &mut Conn,
    shared: &Shared,
    stop: &mut watch::Receiver<bool>,
) -> io::Result<()> {
    let mut session = Session::default();
    conn.reply(&format!("220 {SERVER_NAME} ESMTP pingate test server"))
        .await?;
    loop {
        let Some(line) = unless_stopped(stop, conn.command_line()).await else {
            return conn.reply(SHUTTING_DOWN).await;
        };
        let Some(line) = line? else {
            return Ok(()); // the client closed the connection
        };
        let Some(line) = line.strip_suffix(b"\n") else {
            conn.reply("500 5.5.6 Line too long").await?;
            return Ok(()); // the rest of the line would be misread as commands
        };
        let line = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)).into_owned();
        let (verb, args) = line.split_once(' ').unwrap_or((&line, ""));
        let args = args.trim();
        let answer = match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" if args.is_empty() => "501 5.5.4 Syntax: EHLO/HELO domain".to_owned(),
            greeting @ ("EHLO" | "HELO") => {
                session.greeted = true;
                session.reset_transaction();
                match greeting {
                    "EHLO" => ehlo_reply(shared, args),
                    _ => format!("250 {SERVER_NAME}"),
                }
            }
            "AUTH" => authenticate(conn, shared, &mut session, args)
                .await?
                .to_owned(),
            "MAIL" => mail_from(shared, &mut session, args),
            "RCPT" => rcpt_to(&mut session, args).to_owned(),
            "DATA" if session.from.is_none() => {
                "503 5.5.1 Bad sequence of commands: MAIL first".to_owned()
            }
            "DATA" if session.to.is_empty() => {
                "503 5.5.1 Bad sequence of commands: RCPT first".to_owned()
            }
            "DATA" => {
                conn.reply("354 Start mail input; end with <CRLF>.<CRLF>")
                    .await?;
                let Some(data) = unless_stopped(stop, conn.data()).await else {
                    return conn.reply(SHUTTING_DOWN).await;
                };
                let Some(data) = data? else {
                    return Ok(()); // closed mid-DATA: the transaction is abandoned
                };
                finish_transaction(shared, &mut session, data)
            }
            "RSET" => {
                session.reset_transaction();
                "250 2.0.0 OK".to_owned()
            }
            "NOOP" => "250 2.0.0 OK".to_owned(),
            "QUIT" => {
                let bye = format!("221 2.0.0 {SERVER_NAME} closing connection");
                return conn.reply(&bye).await;
            }
            // Known verbs this server deliberately does not offer.
            "VRFY" | "EXPN" | "HELP" | "STARTTLS" | "TURN" | "ETRN" | "BDAT" => {
                "502 5.5.1 Command not implemented".to_owned()
            }
            _ => "500 5.5.2 Command unrecognized".to_owned(),
        };
        conn.reply(&answer).await?;
    }
}

/// The multi-line EHLO reply: `250-` on every line but the last, which has
/// `250 ` (RFC 5321 section 4.2.1).
fn ehlo_reply(shared: &Shared, client: &str) -> String {
    let mut lines = vec![format!("{SERVER_NAME} greets {client}")];
    lines.extend(["8BITMIME", "SMTPUTF8", "PIPELINING"].map(String::from));
    if shared.credentials.is_some() {
        lines.push("AUTH PLAIN".to_owned());
    }
    lines.push(format!("SIZE {MAX_MESSAGE_BYTES}"));
    let last = lines.len() - 1;
    let numbered = lines.iter().enumerate().map(|(i, line)| {
        let separator = if i == last { ' ' } else { '-' };
        format!("250{separator}{line}")
    });
    numbered.collect::<Vec<_>>().join("\r\n")
}

/// The text of a path argument such as `FROM:<a@b> SIZE=12`: the address
/// between the brackets and the parameters after them.
fn parse_path<'a>(args: &'a str, keyword: &str) -> Option<(&'a str, Vec<&'a str>)> {
    let head = args.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = args[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let (path, params) = rest.split_once('>')?;
    Some((path, params.split_ascii_whitespace().collect()))
}

fn mail_from(shared: &Shared, session: &mut Session, args: &str) -> String {
    if !session.greeted {
        return "503 5.5.1 Bad sequence of commands: EHLO/HELO first".to_owned();
    }
    if shared.credentials.is_some() && session.authenticated_as.is_none() {
        return "530 5.7.0 Authentication required".to_owned();
    }
    if session.from.is_some() {
        return "503 5.5.1 Bad sequence of commands: nested MAIL".to_owned();
    }
    let Some((path, params)) = parse_path(args, "FROM:") else {
        return "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]".to_owned();
    };
    let mut utf8 = false;
    for param in params {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        match key.to_ascii_uppercase().as_str() {
            "SIZE" => match value.parse::<usize>() {
                Ok(size) if size > MAX_MESSAGE_BYTES => {
                    return "552 5.3.4 Message size exceeds fixed maximum message size".to_owned();
                }
                Ok(_) => {}
                Err(_) => return format!("501 5.5.4 Invalid SIZE parameter {value:?}"),
            },
            "BODY" if ["7BIT", "8BITMIME"].contains(&value.to_ascii_uppercase().as_str()) => {}
            "SMTPUTF8" if value.is_empty() => utf8 = true,
            _ => return format!("555 5.5.4 MAIL FROM parameter {param} not recognized"),
        }
    }
    if !path.is_ascii() && !utf8 {
        return "553 5.6.7 Non-ASCII address requires SMTPUTF8".to_owned();
    }
    session.from = Some(path.to_owned());
    "250 2.1.0 Sender OK".to_owned()
}

fn rcpt_to(session: &mut Session, args: &str) -> &'static str {
    if session.from.is_none() {
        return "503 5.5.1 Bad sequence of commands: MAIL first";
    }
    let Some((path, params)) = parse_path(args, "TO:") else {
        return "501 5.5.4 Syntax: RCPT TO:<address>";
    };
    if path.is_empty() {
        return "501 5.1.3 A recipient address is required";
    }
    if !params.is_empty() {
        return "555 5.5.4 RCPT TO parameters not recognized";
    }
    if session.to.len() >= MAX_RECIPIENTS {
        return "452 4.5.3 Too many recipients";
    }
    session.to.push(path.to_owned());
    "250 2.1.5 Recipient OK"
}

fn finish_transaction(shared: &Shared, session: &mut Session, data: MailData) -> String {
    shared.transactions.fetch_add(1, Ordering::SeqCst);
    let from = session.from.take().unwrap_or_default();
    let to = std::mem::take(&mut session.to);
    let MailData::Complete(data) = data else {
        return "552 5.3.4 Message size exceeds fixed maximum message size".to_owned();
    };
    if let Some(fault) = lock(&shared.faults).pop_front() {
        return fault;
    }
    let mail = ReceivedMail {
        from,
        to,
        data: String::from_utf8_lossy(&data).into_owned(),
        authenticated_as: session.authenticated_as.clone(),
    };
    let count = {
        let mut mails = lock(&shared.mails);
        mails.push(mail);
        mails.len()
    };
    shared.accepted.send_replace(count);
    format!("250 2.0.0 OK queued as {count}")
}

/// Runs an AUTH PLAIN exchange (RFC 4954, RFC 4616) and returns the final
/// reply to send. PLAIN is the one mechanism every client offers; LOGIN is
/// an obsolete draft, so its absence tests nothing pingate needs.
async fn authenticate(
    conn: &mut Conn,
    shared: &Shared,
    session: &mut Session,
    args: &str,
) -> io::Result<&'static str> {
    let Some((user, password)) = &shared.credentials else {
        return Ok("502 5.5.1 Command not implemented");
    };
    if !session.greeted || session.authenticated_as.is_some() || session.from.is_some() {
        return Ok("503 5.5.1 Bad sequence of commands");
    }
    let (mechanism, initial) = args.split_once(' ').unwrap_or((args, ""));
    if !mechanism.eq_ignore_ascii_case("PLAIN") {
        return Ok("504 5.5.4 Unrecognized authentication type");
    }
    // An initial response on the AUTH line stands in for the challenge.
    let response = match initial {
        "" => conn.challenge("").await?,
        initial => decode_base64_text(initial),
    };
    // authzid NUL authcid NUL password
    let offered = response.and_then(|text| {
        let mut parts = text.split('\0').skip(1);
        Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
    });
    Ok(match offered {
        Some((name, pass)) if &name == user && &pass == password => {
            session.authenticated_as = Some(name);
            "235 2.7.0 Authentication successful"
        }
        Some(_) => "535 5.7.8 Authentication credentials invalid",
        None => "501 5.5.2 Cannot decode the response, or the client cancelled",
    })
}

fn decode_base64_text(encoded: &str) -> Option<String> {
    String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()
}

/// Splits a message at the empty line between header and body.
fn split_message(data: &str) -> (&str, &str) {
    if let Some(at) = data.find("\r\n\r\n") {
        (&data[..at], &data[at + 4..])
    } else if let Some(at) = data.find("\n\n") {
        (&data[..at], &data[at + 2..])
    } else {
        (data, "")
    }
}

/// The unfolded value of the first header field called `name`.
fn raw_header(headers: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in headers.lines() {
        if line.starts_with([' ', '\t']) {
            // A continuation line: unfolding removes only the line break.
            if let Some(value) = value.as_mut() {
                value.push_str(line);
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((field, rest)) = line.split_once(':')
            && field.trim().eq_ignore_ascii_case(name)
        {
            value = Some(rest.to_owned());
        }
    }
    value
}

/// Decodes quoted-printable text (RFC 2045 section 6.7): `=XX` octets, soft
/// line breaks (`=` at the end of a line) and transport padding (trailing
/// whitespace, which the encoder never produces as data).
fn decode_quoted_printable(encoded: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len());
    let mut lines = encoded.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_end_matches([' ', '\t']);
        let (line, soft_break) = match line.strip_suffix('=') {
            Some(line) => (line, true),
            None => (line, false),
        };
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && let Some(octet) = bytes.get(i + 1..i + 3).and_then(hex_octet)
            {
                out.push(octet);
                i += 3;
                continue;
            }
            // A malformed "=" is kept literally, as RFC 2045 suggests.
            out.push(bytes[i]);
            i += 1;
        }
        if !soft_break && lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn hex_octet(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
}
