//! [`display`] and [`DisplayHandle`]: show something mid-cell and update it in place.
//!
//! Each call writes one marker line (see [`marker`](super::marker)). Throttled updates skip
//! rendering entirely when too soon, so a training loop can call them every batch cheaply.
//! Handles are plain values: no background thread, no timer; a skipped update is shown
//! only when a later update or [`DisplayHandle::finish`] comes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::marker::DisplayMessage;
use super::{sink, Displayable};

/// Shows `value` now in a new display area and returns a handle to update it.
///
/// ```
/// use ferrolab::display::{capture, display, parse_marker, Html};
/// let (mut handle, out) = capture(|| display(&Html("epoch 1".into())));
/// let (_, out2) = capture(|| handle.update(&Html("epoch 2".into())));
/// let (first, second) = (parse_marker(&out).unwrap(), parse_marker(&out2).unwrap());
/// assert_eq!(first.id, second.id);
/// assert!(!first.update && second.update);
/// ```
pub fn display(value: &(impl Displayable + ?Sized)) -> DisplayHandle {
    let handle = DisplayHandle {
        id: new_id(),
        last_shown: Instant::now(),
        skipped: false,
    };
    handle.send(value, false);
    handle
}

/// A display area that can be redrawn.
#[derive(Debug)]
pub struct DisplayHandle {
    id: String,
    last_shown: Instant,
    /// An update was skipped since the last one shown.
    skipped: bool,
}

impl DisplayHandle {
    /// The id shared by this display's marker lines.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Replaces the shown content with `value`, always.
    pub fn update(&mut self, value: &(impl Displayable + ?Sized)) {
        self.send(value, true);
        self.last_shown = Instant::now();
        self.skipped = false;
    }

    /// Updates only if at least `min_interval` has passed since the last shown content;
    /// returns whether it did. A skipped value is not rendered at all.
    pub fn update_throttled(&mut self, value: &(impl Displayable + ?Sized), min_interval: Duration) -> bool {
        if self.last_shown.elapsed() < min_interval {
            self.skipped = true;
            return false;
        }
        self.update(value);
        true
    }

    /// Shows `value` if an update was skipped since the last one shown, so the final state
    /// always appears; returns whether it updated.
    pub fn finish(&mut self, value: &(impl Displayable + ?Sized)) -> bool {
        if !self.skipped {
            return false;
        }
        self.update(value);
        true
    }

    fn send(&self, value: &(impl Displayable + ?Sized), update: bool) {
        let msg = DisplayMessage {
            id: self.id.clone(),
            update,
            data: value.mime_bundle(),
        };
        sink::emit(&msg.to_line());
    }
}

/// `ferrolab-<pid>-<start time>-<n>`: unique across displays and across runtime restarts.
fn new_id() -> String {
    static START: OnceLock<u128> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let start = START.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("ferrolab-{}-{start:x}-{n}", std::process::id())
}
