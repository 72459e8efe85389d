//! Captures every tracing event of the test process (pingate's server runs
//! in-process, so its spans and events land here too) as JSON lines in one
//! shared in-memory buffer, at TRACE level. The leak canary searches it.
//!
//! Nothing reaches the terminal unless `TEST_LOG` is set; then every line
//! is also written to stderr.
//!
//! [`install`] runs once per process, from `TestApp::spawn_with`, so the
//! capture is in place before any server of any test emits anything.

use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, Once, OnceLock, PoisonError};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

static INSTALL: Once = Once::new();
/// Whether our subscriber became the process's global default.
static INSTALLED: OnceLock<bool> = OnceLock::new();
static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn buffer() -> MutexGuard<'static, Vec<u8>> {
    // A test that panicked while holding the lock must not hide the logs
    // from the others.
    BUFFER.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs the capturing subscriber (idempotent).
pub fn install() {
    INSTALL.call_once(|| {
        let to_stderr = std::env::var_os("TEST_LOG").is_some();
        let installed = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_current_span(true)
            .with_span_list(true)
            .with_ansi(false)
            .with_writer(Capture { to_stderr })
            .finish()
            // Also routes `log` records (reqwest, rustls, ...) here.
            .try_init()
            .is_ok();
        let _ = INSTALLED.set(installed);
    });
}

/// True when the capture is the global subscriber; false if something else
/// claimed that place first (then nothing is captured, and a leak test
/// must fail rather than pass on an empty buffer).
pub fn is_capturing() -> bool {
    INSTALLED.get().copied().unwrap_or(false)
}

/// Everything captured so far, from every test of this process.
pub fn captured() -> Vec<u8> {
    buffer().clone()
}

/// How many bytes were captured so far.
pub fn captured_len() -> usize {
    buffer().len()
}

#[derive(Clone, Copy)]
struct Capture {
    to_stderr: bool,
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

impl Write for Capture {
    // The formatter writes each event as one `write_all` of a whole line,
    // so lines from concurrent threads never interleave in the buffer.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        buffer().extend_from_slice(buf);
        if self.to_stderr {
            let _ = io::stderr().write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
