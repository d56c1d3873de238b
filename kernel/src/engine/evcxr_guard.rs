//! Calls into evcxr that may panic, made to cost one request instead of the engine.
//!
//! evcxr runs rust-analyzer in-process, and rust-analyzer panics on some inputs (a
//! completion after a string with multi-byte characters: "failed to unify type owners" in
//! its term search). Unguarded, such a panic unwinds through the worker thread, which then
//! stops, and every later cell could only say "restart the kernel". Every call the worker
//! makes into evcxr goes through [`guarded`]: a panic becomes an `Err` with its message,
//! the worker answers that request with an error or an empty result, and goes on.
//!
//! Whether the context is still sound after a panic is evcxr's business; the worker keeps
//! it after a panic in analysis (completion, hover: read-only questions) and replaces it
//! after a panic while running a cell (see `evcxr_worker`'s restart).
//!
//! A test can make one named call panic on purpose: `FERROLAB_TEST_PANIC_FILE=PATH` where
//! the file PATH holds the call's name (`execute`, `complete`, …, as named where `guarded`
//! is called); the file is removed as the panic is raised, so it fires once.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `call` (named `what` in the log), turning a panic into `Err(message)`.
pub fn guarded<T>(what: &str, call: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(|| {
        inject_test_panic(what);
        call()
    }))
    .map_err(|payload| {
        let message = panic_message(payload.as_ref());
        elog!("ferrolab: evcxr panicked in {what}: {message}");
        message
    })
}

/// A panic's message: the `&str` or `String` it was raised with.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// The fault-injection point for tests (see the module doc); does nothing otherwise.
fn inject_test_panic(what: &str) {
    let Some(file) = std::env::var_os("FERROLAB_TEST_PANIC_FILE") else {
        return;
    };
    if std::fs::read_to_string(&file).is_ok_and(|v| v.trim() == what) && std::fs::remove_file(&file).is_ok() {
        panic!("injected in {what} by FERROLAB_TEST_PANIC_FILE");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message() {
        assert_eq!(guarded("test", || 7), Ok(7));
        let failed = guarded("test", || -> u8 { panic!("failed to unify {}", "type owners") });
        assert_eq!(failed, Err("failed to unify type owners".to_string()));
        assert_eq!(
            guarded("test", || -> u8 { panic!("plain") }),
            Err("plain".to_string())
        );
    }
}
