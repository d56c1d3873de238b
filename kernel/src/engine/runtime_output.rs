//! The runtime process's output, put in one ordered stream before evcxr reads it.
//!
//! evcxr reads the runtime's stdout and stderr through two pipes and two threads, so the
//! kernel could never know when a finished cell's last stderr line had arrived, and evcxr
//! itself swallows every `EVCXR_BEGIN_CONTENT` block into the cell's result, wherever in
//! the cell it was printed. [`relay`] runs in the runtime process before evcxr's loop:
//! fds 1 and 2 become pipes read by one thread, which writes a single stream to evcxr's
//! stdout pipe:
//!
//! - stdout lines as they are, except content blocks printed mid-cell: those become one
//!   [`CONTENT_PREFIX`] line each (MIME type and content as JSON), which evcxr passes on.
//!   Blocks are held until the next line shows what they are: followed by evcxr's
//!   completion line they are the cell's value and go to evcxr unchanged (evcxr's own first
//!   cell, `42`, relies on that); followed by the cell's output they were a display;
//! - stderr lines prefixed with [`STDERR_PREFIX`].
//!
//! Before it passes on a stdout line the thread takes everything already written to the
//! stderr pipe: a write that finished before the stdout write is in the pipe by then. So
//! all of a cell's stderr precedes evcxr's completion line, and the kernel needs no wait.
//! (Two pipes cannot say how lines written within the same instant interleave: when both
//! hold data at once, that stderr goes first.)

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Starts a stderr line in the runtime's one stream.
pub const STDERR_PREFIX: &str = "FERROLAB_STDERR ";
/// Starts a line holding one evcxr content block: `{"mime": …, "content": …}`.
pub const CONTENT_PREFIX: &str = "FERROLAB_CONTENT ";

const BEGIN: &str = "EVCXR_BEGIN_CONTENT ";
const END: &str = "EVCXR_END_CONTENT";
const COMPLETE: &str = "EVCXR_EXECUTION_COMPLETE";
const PANICKED: &str = "EVCXR_PANIC_NOTIFICATION";

/// In the runtime process: routes fds 1 and 2 through the relay thread. Errors leave the
/// streams as they were (output then arrives unordered, as with plain evcxr).
pub fn relay() {
    if let Err(e) = try_relay() {
        elog!("ferrolab runtime: output relay not started: {e}");
    }
}

fn try_relay() -> std::io::Result<()> {
    // SAFETY: dup/pipe/dup2/fcntl on descriptors this process owns; each result is checked.
    unsafe {
        let target = check(libc::dup(1))?;
        let target = std::fs::File::from(OwnedFd::from_raw_fd(target));
        let (out_read, out_write) = pipe()?;
        let (err_read, err_write) = pipe()?;
        check(libc::dup2(out_write.as_raw_fd(), 1))?;
        check(libc::dup2(err_write.as_raw_fd(), 2))?;
        let flags = check(libc::fcntl(err_read.as_raw_fd(), libc::F_GETFL))?;
        check(libc::fcntl(
            err_read.as_raw_fd(),
            libc::F_SETFL,
            flags | libc::O_NONBLOCK,
        ))?;
        std::thread::Builder::new()
            .name("ferrolab-output".into())
            .spawn(move || run(out_read, err_read, target))?;
    }
    Ok(())
}

fn check(rc: libc::c_int) -> std::io::Result<libc::c_int> {
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A pipe as (read end, write end).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe writes two new descriptors into `fds`, which we then own.
    unsafe {
        check(libc::pipe(fds.as_mut_ptr()))?;
        Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

fn read_some(fd: &OwnedFd, buf: &mut [u8]) -> isize {
    // SAFETY: reads into a buffer we own, at most its length.
    unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) }
}

fn run(out: OwnedFd, err: OwnedFd, target: std::fs::File) {
    let mut relay = Relay::new(std::io::BufWriter::new(target));
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: out.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: err.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfd entries.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if fds[1].revents != 0 {
            drain(&err, &mut buf, &mut relay);
        }
        if fds[0].revents != 0 {
            let n = read_some(&out, &mut buf);
            if n <= 0 {
                drain(&err, &mut buf, &mut relay);
                relay.flush_stderr();
                return;
            }
            let chunk = &buf[..n as usize];
            let mut taken = 0;
            while let Some(nl) = chunk[taken..].iter().position(|&b| b == b'\n') {
                // Everything the cell wrote to stderr before this line is in the pipe now.
                drain_stderr(&err, &mut relay);
                relay.stdout(&chunk[taken..taken + nl + 1]);
                taken += nl + 1;
            }
            relay.stdout(&chunk[taken..]);
        }
        relay.flush();
    }
}

/// Reads what the stderr pipe holds now, without blocking.
fn drain(err: &OwnedFd, buf: &mut [u8], relay: &mut Relay<impl Write>) {
    loop {
        let n = read_some(err, buf);
        if n <= 0 {
            return;
        }
        relay.stderr(&buf[..n as usize]);
    }
}

fn drain_stderr(err: &OwnedFd, relay: &mut Relay<impl Write>) {
    let mut buf = [0u8; 4096];
    drain(err, &mut buf, relay);
    relay.flush_stderr();
}

/// The line assembly, apart from the descriptors so it can be tested.
pub struct Relay<W: Write> {
    out: W,
    stdout_line: Vec<u8>,
    stderr_line: Vec<u8>,
    /// The MIME type and lines of an open content block.
    block: Option<(String, Vec<String>)>,
    /// Finished blocks waiting for the next line to say whether they were the cell's value.
    held: Vec<(String, String)>,
}

impl<W: Write> Relay<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            stdout_line: Vec::new(),
            stderr_line: Vec::new(),
            block: None,
            held: Vec::new(),
        }
    }

    /// Stdout bytes: complete lines are passed on, a partial one waits for its end.
    pub fn stdout(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&std::mem::take(&mut self.stdout_line)).into_owned();
                self.stdout_complete(line);
            } else {
                self.stdout_line.push(b);
            }
        }
    }

    fn stdout_complete(&mut self, line: String) {
        if let Some((mime, mut lines)) = self.block.take() {
            if line == END {
                self.held.push((mime, lines.join("\n")));
            } else if line.starts_with("EVCXR_") {
                // evcxr's own protocol (a panic notice) ends the block unfinished.
                self.release_as_displays();
                let _ = writeln!(self.out, "{BEGIN}{mime}");
                lines.iter().for_each(|l| drop(writeln!(self.out, "{l}")));
                let _ = writeln!(self.out, "{line}");
            } else {
                lines.push(line);
                self.block = Some((mime, lines));
            }
            return;
        }
        if let Some(mime) = line.strip_prefix(BEGIN).filter(|m| !m.contains(' ')) {
            self.block = Some((mime.to_string(), Vec::new()));
        } else if line == COMPLETE {
            // The last blocks were the cell's value: evcxr makes them its result.
            for (mime, content) in std::mem::take(&mut self.held) {
                let _ = writeln!(self.out, "{BEGIN}{mime}\n{content}\n{END}");
            }
            let _ = writeln!(self.out, "{line}");
        } else if line.starts_with("EVCXR_") && line != PANICKED {
            // A variable's type change: evcxr's, says nothing about the blocks.
            let _ = writeln!(self.out, "{line}");
        } else {
            self.release_as_displays();
            let _ = writeln!(self.out, "{line}");
        }
    }

    /// Held blocks were printed mid-cell: each becomes a display line.
    fn release_as_displays(&mut self) {
        for (mime, content) in std::mem::take(&mut self.held) {
            let json = serde_json::json!({ "mime": mime, "content": content });
            let _ = writeln!(self.out, "{CONTENT_PREFIX}{json}");
        }
    }

    /// Stderr bytes: each complete line goes out prefixed.
    pub fn stderr(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.flush_stderr_line();
            } else {
                self.stderr_line.push(b);
            }
        }
    }

    /// Sends a partial stderr line as a line: what follows it on stdout must not pass it.
    pub fn flush_stderr(&mut self) {
        if !self.stderr_line.is_empty() {
            self.flush_stderr_line();
        }
    }

    fn flush_stderr_line(&mut self) {
        self.release_as_displays();
        let line = std::mem::take(&mut self.stderr_line);
        let _ = writeln!(self.out, "{STDERR_PREFIX}{}", String::from_utf8_lossy(&line));
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relayed(steps: &[(bool, &str)]) -> String {
        let mut out = Vec::new();
        let mut relay = Relay::new(&mut out);
        for (stderr, text) in steps {
            if *stderr {
                relay.stderr(text.as_bytes());
            } else {
                relay.flush_stderr();
                relay.stdout(text.as_bytes());
            }
        }
        drop(relay);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn stderr_is_tagged_and_kept_before_later_stdout() {
        let out = relayed(&[(false, "one\n"), (true, "warn\npart"), (false, "two\n")]);
        assert_eq!(out, "one\nFERROLAB_STDERR warn\nFERROLAB_STDERR part\ntwo\n");
    }

    #[test]
    fn content_blocks_mid_cell_become_one_line_each() {
        let out = relayed(&[(
            false,
            "before\nEVCXR_BEGIN_CONTENT text/html\n<b>a</b>\n<i>b</i>\nEVCXR_END_CONTENT\nafter\n",
        )]);
        assert_eq!(
            out,
            "before\nFERROLAB_CONTENT {\"content\":\"<b>a</b>\\n<i>b</i>\",\"mime\":\"text/html\"}\nafter\n"
        );
        let out = relayed(&[
            (
                false,
                "EVCXR_BEGIN_CONTENT text/plain\nshown\nEVCXR_END_CONTENT\n",
            ),
            (true, "warn\n"),
        ]);
        assert!(out.starts_with("FERROLAB_CONTENT "), "{out}");
    }

    #[test]
    fn the_blocks_before_completion_stay_evcxrs_value() {
        let cell = "EVCXR_BEGIN_CONTENT text/html\n<b>7</b>\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/plain\n7\nEVCXR_END_CONTENT\nEVCXR_EXECUTION_COMPLETE\n";
        assert_eq!(relayed(&[(false, cell)]), cell);
    }

    #[test]
    fn a_partial_stdout_line_waits_for_its_end() {
        let out = relayed(&[(false, "ab"), (false, "c\n")]);
        assert_eq!(out, "abc\n");
    }
}
