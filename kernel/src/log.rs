//! The kernel's log lines on stderr, written so that a stderr that is gone never panics.
//!
//! `eprintln!` panics when the write fails, and a kernel's stderr is often the terminal or
//! pipe of the client that started it: once that client dies, every log line would panic the
//! thread writing it. The watcher that shuts an orphaned kernel down logs first, so it died
//! there and the kernel ran on forever; a forged message logged on the shell thread took
//! the shell down. [`elog!`] writes the same line and drops a failed write.

/// `eprintln!` that never panics (see the module doc).
macro_rules! elog {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
