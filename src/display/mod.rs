//! Rich display: MIME bundles, evcxr's last-value display, and mid-cell display markers.
//!
//! A [`MimeBundle`] maps MIME types to content (binary content such as PNG as base64).
//! Anything [`Displayable`] can be shown two ways: as a cell's last expression through
//! evcxr's `evcxr_display` convention ([`evcxr_print`]), or at any point with [`display`],
//! which writes one marker line (spec in [`marker`]) that the front ends turn into a
//! Jupyter `display_data` / `update_display_data` or a terminal rendering. The library only
//! writes lines to stdout (or a test capture, see [`capture`]); it knows nothing of
//! Jupyter, sockets or terminals.

mod bundle;
mod debug_display;
mod handle;
pub mod marker;
mod progress;
mod sink;

pub use bundle::{mime, Html, MimeBundle};
pub use debug_display::DebugDisplay;
pub use handle::{display, DisplayHandle};
pub use marker::{parse_marker, split_marker, DisplayMessage, MARKER_PREFIX};
pub use progress::Progress;
pub use sink::capture;

/// Something that can show itself as a bundle of MIME renderings.
pub trait Displayable {
    /// Every rendering of `self`, richest first, `text/plain` last.
    fn mime_bundle(&self) -> MimeBundle;
}

impl Displayable for MimeBundle {
    fn mime_bundle(&self) -> MimeBundle {
        self.clone()
    }
}

impl<T: Displayable + ?Sized> Displayable for &T {
    fn mime_bundle(&self) -> MimeBundle {
        (**self).mime_bundle()
    }
}

/// Prints `bundle` in evcxr's format: for each MIME type, `EVCXR_BEGIN_CONTENT <mime>`,
/// the content, `EVCXR_END_CONTENT`, each on its own line, all in one write so no other
/// output lands in between.
pub fn evcxr_print(bundle: &MimeBundle) {
    let mut out = String::new();
    for (mime, content) in bundle.iter() {
        out.push_str("EVCXR_BEGIN_CONTENT ");
        out.push_str(mime);
        out.push('\n');
        out.push_str(content);
        out.push_str("\nEVCXR_END_CONTENT\n");
    }
    sink::emit(&out);
}
