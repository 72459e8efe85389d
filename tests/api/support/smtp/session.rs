//! One client connection: the per-connection protocol state and the SMTP
//! dialogue (EHLO, MAIL, RCPT, DATA, AUTH PLAIN, RSET, NOOP, QUIT) with its
//! replies.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use super::{ReceivedMail, Shared, lock};

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

pub(super) async fn serve_session(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
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
