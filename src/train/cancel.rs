//! The process-wide cancel flag that stops training at the next batch, and the SIGINT
//! handler that sets it.
//!
//! `fit` clears the flag when it starts, installs the handler, and checks the flag before
//! every batch; a set flag ends training with `History::interrupted = true`. The handler
//! only catches SIGINT *while `fit` runs* ([`TrainingGuard`]): then every Ctrl-C (or a front
//! end's SIGINT; a terminal and a REPL may deliver two at once) just sets the flag. Outside
//! `fit`, SIGINT ends the process with status 130 as if no handler were installed, so a
//! program is never made unstoppable and a notebook runtime behaves as evcxr's always does.
//! Unix signals only; elsewhere the handler is a no-op and only [`request_cancel`] stops
//! training.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The flag itself, shared with the signal handler.
pub fn cancel_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))).clone()
}

/// Asks a running `fit` to stop at the next batch (from a callback, an observer or
/// another thread).
pub fn request_cancel() {
    cancel_flag().store(true, Ordering::SeqCst);
}

/// Whether a cancel was requested since the last reset.
pub fn is_cancelled() -> bool {
    cancel_flag().load(Ordering::SeqCst)
}

/// Clears the flag; `fit` does this when it starts.
pub fn reset_cancel() {
    cancel_flag().store(false, Ordering::SeqCst);
}

/// Makes SIGINT set the cancel flag instead of killing the process. Installs once per
/// process; later calls return the first call's outcome.
pub fn install_sigint_handler() -> std::io::Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(register)
        .clone()
        .map_err(std::io::Error::other)
}

/// Whether a `fit` is running, so SIGINT means "stop training" rather than "stop".
static TRAINING: AtomicBool = AtomicBool::new(false);

/// Marks `fit` as running for as long as it lives.
pub(crate) struct TrainingGuard;

impl TrainingGuard {
    pub(crate) fn start() -> Self {
        TRAINING.store(true, Ordering::SeqCst);
        TrainingGuard
    }
}

impl Drop for TrainingGuard {
    fn drop(&mut self) {
        TRAINING.store(false, Ordering::SeqCst);
    }
}

#[cfg(unix)]
fn register() -> Result<(), String> {
    use signal_hook::consts::SIGINT;
    let flag = cancel_flag();
    let on_sigint = move || {
        if TRAINING.load(Ordering::SeqCst) {
            flag.store(true, Ordering::SeqCst);
        } else {
            signal_hook::low_level::exit(130);
        }
    };
    // SAFETY: the action only touches atomics or calls `_exit`, both async-signal-safe.
    unsafe { signal_hook::low_level::register(SIGINT, on_sigint) }
        .map(|_| ())
        .map_err(|e| format!("installing the SIGINT handler: {e}"))
}

#[cfg(not(unix))]
fn register() -> Result<(), String> {
    Ok(())
}
