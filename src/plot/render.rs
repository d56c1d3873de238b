//! Turns a plot's drawing code into SVG text or PNG bytes, and wires plots to [`Plot`].
//!
//! Each plot kind implements [`Draw`] once, generically over plotters' backends; this file
//! runs it on the SVG backend or on an RGB buffer that the `png` crate encodes. Drawing
//! errors do not panic: the output then carries a short error text instead of the plot.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::font;

/// What plotters' drawing calls return on any backend.
pub(crate) type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// One plot kind's drawing and terminal art; [`impl_plot!`] builds the public traits on it.
pub(crate) trait Draw {
    /// Draws the whole plot onto `area` (already filled white).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
    /// Text art at most `width` chars wide per line.
    fn art(&self, width: usize) -> String;
}

/// Renders to an SVG document of `w`×`h` pixels.
pub(crate) fn svg<P: Draw>(plot: &P, w: u32, h: u32) -> String {
    font::ensure_registered();
    let (w, h) = (w.max(1), h.max(1));
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        paint(plot, &root);
    }
    out
}

/// Renders to a PNG file's bytes of `w`×`h` pixels (8-bit RGB).
pub(crate) fn png<P: Draw>(plot: &P, w: u32, h: u32) -> Vec<u8> {
    font::ensure_registered();
    let (w, h) = (w.max(1), h.max(1));
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        paint(plot, &root);
    }
    encode_png(&rgb, w, h)
}

/// Fills white, draws, and on failure replaces the picture with the error's text.
fn paint<P: Draw, DB: DrawingBackend>(plot: &P, root: &DrawingArea<DB, Shift>) {
    let _ = root.fill(&WHITE);
    if let Err(e) = plot.draw(root) {
        let _ = root.fill(&WHITE);
        let msg = format!("plot error: {e}");
        let _ = root.draw(&Text::new(msg, (10, 10), (font::FAMILY, 14).into_font()));
    }
    let _ = root.present();
}

/// Encodes an RGB buffer; writing into a Vec cannot fail for valid sizes.
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("PNG header into memory");
    writer.write_image_data(rgb).expect("PNG data into memory");
    writer.finish().expect("PNG end into memory");
    bytes
}

/// Implements [`Plot`](super::Plot), [`Displayable`](crate::display::Displayable) and an
/// inherent `evcxr_display` (so evcxr shows the value without any trait import) for a type
/// that implements [`Draw`].
macro_rules! impl_plot {
    ($ty:ty) => {
        impl $crate::plot::Plot for $ty {
            fn svg(&self, width: u32, height: u32) -> String {
                $crate::plot::render::svg(self, width, height)
            }
            fn png(&self, width: u32, height: u32) -> Vec<u8> {
                $crate::plot::render::png(self, width, height)
            }
            fn text(&self, width: usize) -> String {
                $crate::plot::art::fit_width(
                    &<Self as $crate::plot::render::Draw>::art(self, width),
                    width,
                )
            }
            fn size(&self) -> (u32, u32) {
                self.size
            }
        }

        impl $crate::display::Displayable for $ty {
            fn mime_bundle(&self) -> $crate::display::MimeBundle {
                $crate::display::MimeBundle::from_plot(self)
            }
        }

        impl $ty {
            /// Shows this plot as a cell's result in evcxr (called by evcxr itself).
            pub fn evcxr_display(&self) {
                $crate::display::evcxr_print(&$crate::display::Displayable::mime_bundle(self));
            }
        }
    };
}
pub(crate) use impl_plot;
