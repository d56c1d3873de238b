//! Where display output goes: stdout, or a per-thread capture buffer for tests.
//!
//! Every write is one whole block, flushed at once, so a marker line never interleaves
//! with other Rust output and reaches the front end while the cell still runs. Capture is
//! per thread: output from other threads still goes to stdout.

use std::cell::RefCell;
use std::io::Write;

thread_local! {
    static CAPTURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Writes `text` (whole lines) to the capture buffer if one is active, else to stdout.
pub(crate) fn emit(text: &str) {
    let captured = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
        Some(buf) => {
            buf.push_str(text);
            true
        }
        None => false,
    });
    if !captured {
        let mut out = std::io::stdout().lock();
        // A closed stdout has nobody to show the display to; nothing useful to report.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// Runs `f` and returns its result with every display line it wrote on this thread,
/// instead of letting them reach stdout. Captures nest; the inner one takes the output.
///
/// ```
/// use ferrolab::display::{capture, display, parse_marker, Html};
/// let (_, out) = capture(|| display(&Html("<b>hi</b>".into())));
/// assert!(parse_marker(out.lines().next().unwrap()).is_some());
/// ```
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, String) {
    /// Restores the outer capture even if `f` panics.
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            CAPTURE.with(|c| *c.borrow_mut() = outer);
        }
    }

    let outer = CAPTURE.with(|c| c.borrow_mut().replace(String::new()));
    let restore = Restore(outer);
    let result = f();
    let text = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    drop(restore);
    (result, text)
}
