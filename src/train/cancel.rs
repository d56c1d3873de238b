//! The process-wide cancel flag that stops training at the next batch, and the SIGINT
//! handler that sets it.
//!
//! `fit` clears the flag when it starts, installs the handler, and checks the flag before
//! every batch; a set flag ends training with `History::interrupted = true`. Once the
//! handler is installed, a first Ctrl-C (or a front end's SIGINT) only sets the flag; a
//! second one while the flag is still set ends the process with status 130, so a program
//! stuck outside `fit` can still be stopped. Unix signals only; elsewhere the handler is a
//! no-op and only [`request_cancel`] stops training.

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

#[cfg(unix)]
fn register() -> Result<(), String> {
    use signal_hook::consts::SIGINT;
    let flag = cancel_flag();
    // Actions run in registration order: the exit check must see the flag before this
    // signal sets it, so only a second SIGINT exits.
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, flag.clone())
        .and_then(|_| signal_hook::flag::register(SIGINT, flag))
        .map(|_| ())
        .map_err(|e| format!("installing the SIGINT handler: {e}"))
}

#[cfg(not(unix))]
fn register() -> Result<(), String> {
    Ok(())
}
