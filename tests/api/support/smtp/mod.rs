//! A small but real SMTP server (an RFC 5321 subset) on 127.0.0.1.
//!
//! The application's own SMTP client (lettre) talks to it over TCP exactly as
//! it would to a relay, so the tests cover the real wire path: EHLO
//! negotiation, envelope, dot-stuffing, reply codes and retries. It offers no
//! STARTTLS (lettre's `builder_dangerous` speaks plain SMTP), and AUTH only
//! when started with credentials.

mod message;
mod session;

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use message::{decode_quoted_printable, raw_header, split_message};
use session::serve_session;

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

/// A port held for a mail relay that is down: bound but not listening, so
/// every connection to it is refused, and no other socket can take the
/// port before the relay comes back on it ([`SmtpServer::start_in`]).
pub struct ReservedPort(tokio::net::TcpSocket);

impl ReservedPort {
    pub fn new() -> ReservedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(([127, 0, 0, 1], 0).into())
            .expect("bind a port on 127.0.0.1");
        ReservedPort(socket)
    }

    pub fn port(&self) -> u16 {
        self.0.local_addr().expect("bound").port()
    }
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

    /// Starts a server without AUTH on a port held for it (see
    /// [`ReservedPort`]): a relay coming back after an outage.
    pub fn start_in(reserved: ReservedPort) -> io::Result<SmtpServer> {
        Self::serve(reserved.0.listen(128)?, None)
    }

    /// Starts a server without AUTH on a listener the test already holds.
    pub fn serve_on(listener: TcpListener) -> io::Result<SmtpServer> {
        Self::serve(listener, None)
    }

    async fn bind(port: u16, credentials: Option<(String, String)>) -> io::Result<SmtpServer> {
        Self::serve(TcpListener::bind(("127.0.0.1", port)).await?, credentials)
    }

    fn serve(
        listener: TcpListener,
        credentials: Option<(String, String)>,
    ) -> io::Result<SmtpServer> {
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
