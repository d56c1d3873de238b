//! Plots of plain data (slices of numbers, never tensors) for the book's chapters:
//! training curves, image and feature-map grids, attention heatmaps, confusion matrices,
//! general line/scatter charts (linear or log axes), heatmaps on real axes and a
//! classifier's decision regions.
//!
//! Every plot renders three ways through [`Plot`]: SVG text, PNG bytes of a requested pixel
//! size, and terminal text art of a requested width in chars. Every plot is also
//! [`Displayable`](crate::display::Displayable), so `display(&plot)` or ending a notebook
//! cell with it shows it. Text is drawn with an embedded font, so no system fonts are
//! needed. Not offered: interactivity, colour bars, animations.

pub(crate) mod art;
mod attention;
mod axis;
mod color;
mod confusion;
mod curves;
mod field;
mod font;
mod grid;
mod images;
mod line;
pub(crate) mod render;

pub use attention::AttentionMap;
pub use axis::Scale;
pub use confusion::ConfusionMatrix;
pub use curves::Curves;
pub use field::{DecisionRegions, Heatmap};
pub use images::{FeatureMaps, ImageGrid};
pub use line::{LineChart, Series, SeriesKind};

/// Default image size in pixels for plots that do not choose their own.
pub const DEFAULT_SIZE: (u32, u32) = (640, 400);
/// Default text art width in chars.
pub const DEFAULT_TEXT_WIDTH: usize = 80;

/// The three renderings every plot offers.
pub trait Plot {
    /// An SVG document `width`×`height` pixels.
    fn svg(&self, width: u32, height: u32) -> String;
    /// A PNG file's bytes, `width`×`height` pixels, 8-bit RGB.
    fn png(&self, width: u32, height: u32) -> Vec<u8>;
    /// Text art whose every line is at most `width` chars.
    fn text(&self, width: usize) -> String;

    /// The plot's preferred size in pixels (set with each plot's `with_size`).
    fn size(&self) -> (u32, u32) {
        DEFAULT_SIZE
    }

    /// SVG at the preferred size.
    fn to_svg(&self) -> String {
        let (w, h) = self.size();
        self.svg(w, h)
    }

    /// PNG at the preferred size.
    fn to_png(&self) -> Vec<u8> {
        let (w, h) = self.size();
        self.png(w, h)
    }

    /// Text art [`DEFAULT_TEXT_WIDTH`] chars wide.
    fn to_text(&self) -> String {
        self.text(DEFAULT_TEXT_WIDTH)
    }

    /// Writes the SVG at the preferred size to `path`.
    fn save_svg(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()>
    where
        Self: Sized,
    {
        std::fs::write(path, self.to_svg())
    }

    /// Writes the PNG at the preferred size to `path`.
    fn save_png(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()>
    where
        Self: Sized,
    {
        std::fs::write(path, self.to_png())
    }
}
