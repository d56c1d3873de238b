//! Registers the one embedded font every plot draws its text with.
//!
//! Plots must render the same on any machine, including ones with no system fonts, so
//! the library embeds Noto Sans Regular (from the `ttf-noto-sans` crate) and hands it to
//! plotters under the family name `sans-serif`. It does not look up system fonts, and it
//! offers no other family, weight or style.

use std::sync::Once;

use plotters::style::FontStyle;

/// The family name plots use; SVG output names it too, so browsers pick their own sans.
pub(crate) const FAMILY: &str = "sans-serif";

/// Makes [`FAMILY`] available to plotters; cheap after the first call.
pub(crate) fn ensure_registered() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The bytes are a known-good TTF shipped in a crate, so failure is a build bug.
        if plotters::style::register_font(FAMILY, FontStyle::Normal, ttf_noto_sans::REGULAR).is_err() {
            panic!("the embedded Noto Sans font could not be parsed");
        }
    });
}
