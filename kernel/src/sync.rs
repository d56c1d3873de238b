//! Locks that survive a panic.
//!
//! A cell, a request handler or the engine's worker may panic while holding a lock; the data
//! behind it (a status, a variable list, a reply channel) stays usable, and the kernel and
//! the REPL must keep running, so a poisoned lock is taken as it is.

use std::sync::{Mutex, MutexGuard};

/// `m`'s guard, poisoned or not.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
