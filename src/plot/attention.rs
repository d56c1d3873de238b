//! Attention heatmaps: a query×key weight matrix with optional token labels.
//!
//! Colours span the matrix's own min..max (viridis); cells show their weight when the
//! matrix is small enough to read (at most 16×16). One head at a time; no colour bar.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::art;
use super::color;
use super::grid::Matrix;
use super::images::normalise;
use super::render::{impl_plot, Draw, DrawResult};

/// An attention weight matrix (rows: queries, columns: keys).
///
/// ```
/// use ferrolab::plot::{AttentionMap, Plot};
/// let w = [0.9f32, 0.1, 0.2, 0.8];
/// let map = AttentionMap::new(2, 2, &w).labels(&["I", "am"], &["je", "suis"]);
/// assert!(map.text(40).contains("suis"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionMap {
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    /// Row-major weights, `rows·cols` long.
    pub weights: Vec<f64>,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    pub size: (u32, u32),
}

impl AttentionMap {
    /// A `rows`×`cols` map; missing weights are 0, extra ones ignored.
    pub fn new<T: Copy + Into<f64>>(rows: usize, cols: usize, weights: &[T]) -> Self {
        let (rows, cols) = (rows.max(1), cols.max(1));
        let mut w: Vec<f64> = weights.iter().map(|&v| v.into()).collect();
        w.resize(rows * cols, 0.0);
        AttentionMap {
            title: "attention".to_string(),
            rows,
            cols,
            weights: w,
            row_labels: Vec::new(),
            col_labels: Vec::new(),
            size: (560, 520),
        }
    }

    /// Token labels for rows (queries) and columns (keys); either may be empty.
    pub fn labels(mut self, rows: &[impl ToString], cols: &[impl ToString]) -> Self {
        self.row_labels = rows.iter().map(ToString::to_string).collect();
        self.col_labels = cols.iter().map(ToString::to_string).collect();
        self
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    fn label(labels: &[String], i: usize) -> String {
        labels.get(i).cloned().unwrap_or_else(|| i.to_string())
    }
}

impl Draw for AttentionMap {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let scaled = normalise(&self.weights);
        let row_labels: Vec<String> = (0..self.rows).map(|i| Self::label(&self.row_labels, i)).collect();
        let col_labels: Vec<String> = (0..self.cols).map(|i| Self::label(&self.col_labels, i)).collect();
        let matrix = Matrix {
            title: &self.title,
            rows: self.rows,
            cols: self.cols,
            row_labels: &row_labels,
            col_labels: &col_labels,
            x_title: "key",
            y_title: "query",
        };
        let small = self.rows <= 16 && self.cols <= 16;
        matrix.draw(
            area,
            |r, c| color::viridis(scaled[r * self.cols + c]),
            |r, c| small.then(|| format!("{:.2}", self.weights[r * self.cols + c])),
        )
    }

    fn art(&self, width: usize) -> String {
        let scaled = normalise(&self.weights);
        let labels: Vec<String> = (0..self.rows).map(|i| Self::label(&self.row_labels, i)).collect();
        let lw = labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1)
            .min(10);
        // Two chars per key keeps cells roughly square; one when space is short.
        let room = width.saturating_sub(lw + 1);
        let cell = if room >= 2 * self.cols { 2 } else { 1 };
        let shown = self.cols.min(room.max(1));
        let mut out = vec![art::truncate(&self.title, width)];
        for (r, label) in labels.iter().enumerate() {
            let row: String = (0..shown)
                .map(|c| art::shade(scaled[r * self.cols + c]).to_string().repeat(cell))
                .collect();
            out.push(format!("{} {row}", art::pad(label, lw, true)));
        }
        // Column labels do not fit over 1–2 char columns: list them below instead.
        let keys: Vec<String> = std::iter::once("keys:".to_string())
            .chain((0..self.cols).map(|c| format!("{c}={}", Self::label(&self.col_labels, c))))
            .collect();
        out.push(String::new());
        out.extend(art::wrap(&keys, width));
        out.push(format!(
            "scale: ' '={}  █={}",
            art::fmt_num(self.weights.iter().copied().fold(f64::INFINITY, f64::min)),
            art::fmt_num(self.weights.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        ));
        out.join("\n")
    }
}

impl_plot!(AttentionMap);
