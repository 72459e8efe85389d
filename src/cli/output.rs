//! Standard output as Unix tools use it: when the reader goes away
//! (`pingate demo | head -3`, `pingate audit export | head`) writing stops
//! and the command ends quietly instead of panicking or complaining.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Records a closed pipe, so `main` can end the process quietly.
pub fn note<T>(result: io::Result<T>) -> io::Result<T> {
    if let Err(e) = &result
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        CLOSED.store(true, Ordering::SeqCst);
    }
    result
}

/// True once a write to stdout found its reader gone.
pub fn stdout_closed() -> bool {
    CLOSED.load(Ordering::SeqCst)
}

/// Writes one line to stdout; an error instead of `println!`'s panic.
pub fn write_line(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    note(
        out.write_fmt(args)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush()),
    )
}

/// Standard output as a `Write` that notes a closed pipe, for code that
/// writes its report to any writer.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        note(io::stdout().write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        note(io::stdout().flush())
    }
}

/// `println!` that returns `io::Result<()>` (and notes a closed pipe).
#[macro_export]
macro_rules! outln {
    () => { $crate::cli::output::write_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::output::write_line(format_args!($($arg)*)) };
}
