//! Shared layouts for cell-based plots: a grid of small titled tiles (images, feature maps)
//! and one labelled matrix (attention, confusion).
//!
//! Works in pixels on a plain drawing area, with no chart coordinates. Cells equal to the
//! background colour are skipped, so mostly-dark MNIST digits stay small as SVG. It does not
//! draw colour bars.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::art;
use super::color;
use super::font::FAMILY;
use super::line::font_scale;
use super::render::DrawResult;

/// One small picture of a tile grid, values already scaled to 0..=1.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tile {
    pub title: String,
    /// Draw the title in red (a wrong prediction); text art marks it with ✗.
    pub wrong: bool,
    pub values: Vec<f64>,
}

/// Equal-sized tiles laid out in `columns` columns.
pub(crate) struct Tiles<'a> {
    pub title: &'a str,
    pub rows: usize,
    pub cols: usize,
    pub columns: Option<usize>,
    pub tiles: Vec<Tile>,
    pub cmap: fn(f64) -> RGBColor,
}

impl Tiles<'_> {
    /// Grid columns: as asked, else about square; never more than there are tiles.
    fn grid_columns(&self) -> usize {
        let n = self.tiles.len().max(1);
        let auto = (n as f64).sqrt().ceil() as usize;
        self.columns.unwrap_or(auto).clamp(1, n)
    }

    pub(crate) fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let s = font_scale(area);
        let area = titled(area, self.title, s)?;
        let (w, h) = area.dim_in_pixel();
        let gc = self.grid_columns();
        let gr = self.tiles.len().div_ceil(gc).max(1);
        let (tile_w, tile_h) = (f64::from(w) / gc as f64, f64::from(h) / gr as f64);
        let has_titles = self.tiles.iter().any(|t| !t.title.is_empty());
        let font_px = (tile_h * 0.14).min(16.0 * s).max(10.0);
        let title_h = if has_titles && tile_w > 24.0 {
            font_px * 1.4
        } else {
            0.0
        };
        let pad = (tile_w.min(tile_h) * 0.05).max(1.0);
        // One pixel of the source image, as large as fits in every tile.
        let px = ((tile_w - 2.0 * pad) / self.cols as f64)
            .min((tile_h - title_h - 2.0 * pad) / self.rows as f64)
            .max(0.5);
        let (img_w, img_h) = (px * self.cols as f64, px * self.rows as f64);

        for (i, tile) in self.tiles.iter().enumerate() {
            let (tx, ty) = ((i % gc) as f64 * tile_w, (i / gc) as f64 * tile_h);
            let x0 = tx + (tile_w - img_w) / 2.0;
            let y0 = ty + title_h + (tile_h - title_h - img_h) / 2.0;
            cells(&area, (x0, y0), (px, px), (self.rows, self.cols), |r, c| {
                (self.cmap)(tile.values[r * self.cols + c])
            })?;
            if title_h > 0.0 {
                let max_chars = ((tile_w / (font_px * 0.55)) as usize).max(1);
                let colour = if tile.wrong { color::WRONG } else { BLACK };
                let style = TextStyle::from((FAMILY, font_px).into_font())
                    .color(&colour)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                let at = ((tx + tile_w / 2.0) as i32, (y0 - title_h / 2.0) as i32);
                area.draw_text(&art::truncate(&tile.title, max_chars), &style, at)?;
            }
        }
        Ok(())
    }

    /// Shade-block tiles side by side, each under its title, within `width` chars.
    pub(crate) fn art(&self, width: usize) -> String {
        let mut gc = self.grid_columns();
        let fit = |gc: usize| ((width + 1) / gc).saturating_sub(1).min(self.cols).max(1);
        // Fewer tiles per row rather than tiles too small to read.
        while gc > 1 && fit(gc) < self.cols.min(12) {
            gc -= 1;
        }
        let tw = fit(gc);
        // Terminal cells are about twice as tall as wide: half as many text rows.
        let th = ((tw * self.rows) as f64 / self.cols as f64 / 2.0)
            .round()
            .max(1.0) as usize;
        let has_titles = self.tiles.iter().any(|t| !t.title.is_empty());

        let mut out = Vec::new();
        if !self.title.is_empty() {
            out.push(self.title.to_string());
        }
        for chunk in self.tiles.chunks(gc) {
            let blocks: Vec<Vec<String>> = chunk
                .iter()
                .map(|t| {
                    let small = art::resample(&t.values, (self.rows, self.cols), (th, tw));
                    let mut lines = Vec::new();
                    if has_titles {
                        let mark = if t.wrong { "✗" } else { "" };
                        lines.push(art::pad(&format!("{mark}{}", t.title), tw, false));
                    }
                    lines.extend(art::shade_rows(&small, th, tw));
                    lines
                })
                .collect();
            for line in 0..blocks[0].len() {
                let parts: Vec<&str> = blocks.iter().map(|b| b[line].as_str()).collect();
                out.push(parts.join(" "));
            }
            out.push(String::new());
        }
        out.join("\n").trim_end().to_string()
    }
}

/// A labelled matrix of coloured cells with optional text in each cell.
pub(crate) struct Matrix<'a> {
    pub title: &'a str,
    pub rows: usize,
    pub cols: usize,
    pub row_labels: &'a [String],
    pub col_labels: &'a [String],
    pub x_title: &'a str,
    pub y_title: &'a str,
}

impl Matrix<'_> {
    /// Draws cells coloured by `colour(r, c)`, each with the optional `text(r, c)` on top.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colour: impl Fn(usize, usize) -> RGBColor,
        text: impl Fn(usize, usize) -> Option<String>,
    ) -> DrawResult<DB> {
        let s = font_scale(area);
        let area = titled(area, self.title, s)?;
        let (w, h) = area.dim_in_pixel();
        let (w, h) = (f64::from(w), f64::from(h));
        let label_px = 15.0 * s;
        let char_w = label_px * 0.6;
        // Room for the longest row label (capped), the axis titles and the column labels.
        let longest = self
            .row_labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        let left = (longest.min(14) as f64 * char_w + 8.0) + axis_room(self.y_title, label_px);
        let bottom = if self.col_labels.is_empty() {
            4.0
        } else {
            label_px * 1.8
        } + axis_room(self.x_title, label_px);
        let right = 10.0 * s;
        let cell_w = ((w - left - right) / self.cols.max(1) as f64).max(1.0);
        let cell_h = ((h - bottom - 4.0) / self.rows.max(1) as f64).max(1.0);
        let (x0, y0) = (left, 4.0);

        cells(&area, (x0, y0), (cell_w, cell_h), (self.rows, self.cols), &colour)?;
        let cell_px = (cell_h * 0.4).min(cell_w / 4.0).min(16.0 * s);
        if cell_px >= 7.0 {
            for r in 0..self.rows {
                for c in 0..self.cols {
                    let Some(t) = text(r, c) else { continue };
                    let ink = if color::is_light(colour(r, c)) {
                        &BLACK
                    } else {
                        &WHITE
                    };
                    let style = centred(cell_px, ink);
                    let at = (x0 + (c as f64 + 0.5) * cell_w, y0 + (r as f64 + 0.5) * cell_h);
                    area.draw_text(&t, &style, (at.0 as i32, at.1 as i32))?;
                }
            }
        }
        let label_style = TextStyle::from((FAMILY, label_px).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (r, label) in self.row_labels.iter().enumerate().take(self.rows) {
            let at = ((x0 - 5.0) as i32, (y0 + (r as f64 + 0.5) * cell_h) as i32);
            area.draw_text(&art::truncate(label, 14), &label_style, at)?;
        }
        let max_chars = ((cell_w / char_w) as usize).max(1);
        let col_y = y0 + self.rows as f64 * cell_h + label_px * 0.9;
        for (c, label) in self.col_labels.iter().enumerate().take(self.cols) {
            let at = ((x0 + (c as f64 + 0.5) * cell_w) as i32, col_y as i32);
            area.draw_text(&art::truncate(label, max_chars), &centred(label_px, &BLACK), at)?;
        }
        if !self.x_title.is_empty() {
            let at = (x0 + self.cols as f64 * cell_w / 2.0, h - label_px * 0.8);
            area.draw_text(
                self.x_title,
                &centred(label_px * 1.1, &BLACK),
                (at.0 as i32, at.1 as i32),
            )?;
        }
        if !self.y_title.is_empty() {
            let style = centred(label_px * 1.1, &BLACK).transform(FontTransform::Rotate270);
            let at = (label_px * 0.8, y0 + self.rows as f64 * cell_h / 2.0);
            area.draw_text(self.y_title, &style, (at.0 as i32, at.1 as i32))?;
        }
        Ok(())
    }
}

/// Pixels reserved for an axis title, none when there is no title.
fn axis_room(title: &str, label_px: f64) -> f64 {
    if title.is_empty() {
        0.0
    } else {
        label_px * 1.8
    }
}

fn centred(px: f64, ink: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from((FAMILY, px).into_font())
        .color(ink)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// The area below a caption, or the whole area when there is no title.
fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    s: f64,
) -> Result<DrawingArea<DB, Shift>, plotters::drawing::DrawingAreaErrorKind<DB::ErrorType>> {
    if title.is_empty() {
        Ok(area.clone())
    } else {
        area.titled(title, (FAMILY, 22.0 * s))
    }
}

/// Fills a `rows`×`cols` block of rectangles starting at `origin`; cells tile exactly
/// because their edges are rounded from the same positions.
fn cells<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x0, y0): (f64, f64),
    (cw, ch): (f64, f64),
    (rows, cols): (usize, usize),
    colour: impl Fn(usize, usize) -> RGBColor,
) -> DrawResult<DB> {
    let edge = |origin: f64, size: f64, i: usize| (origin + size * i as f64).round() as i32;
    // One rectangle in the commonest colour, then only runs of other colours on top:
    // keeps SVG small for images that are mostly background.
    let grid: Vec<RGBColor> = (0..rows * cols).map(|i| colour(i / cols, i % cols)).collect();
    let background = commonest(&grid);
    area.draw(&Rectangle::new(
        [
            (edge(x0, cw, 0), edge(y0, ch, 0)),
            (edge(x0, cw, cols), edge(y0, ch, rows)),
        ],
        background.filled(),
    ))?;
    for r in 0..rows {
        let row = &grid[r * cols..(r + 1) * cols];
        let mut c = 0;
        while c < cols {
            let fill = row[c];
            let run = row[c..].iter().take_while(|&&f| f == fill).count();
            if fill != background {
                let corners = [
                    (edge(x0, cw, c), edge(y0, ch, r)),
                    (edge(x0, cw, c + run), edge(y0, ch, r + 1)),
                ];
                area.draw(&Rectangle::new(corners, fill.filled()))?;
            }
            c += run;
        }
    }
    Ok(())
}

/// The most frequent colour (the last of equals on ties); black for an empty grid.
fn commonest(colours: &[RGBColor]) -> RGBColor {
    let mut counts: std::collections::HashMap<(u8, u8, u8), usize> = Default::default();
    for &RGBColor(r, g, b) in colours {
        *counts.entry((r, g, b)).or_default() += 1;
    }
    let best = colours
        .iter()
        .max_by_key(|RGBColor(r, g, b)| counts[&(*r, *g, *b)]);
    best.copied().unwrap_or(BLACK)
}
