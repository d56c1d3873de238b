//! Image grids: grayscale pictures with labels and predictions, and feature-map grids.
//!
//! Pictures are plain row-major `rows×cols` values (f32 or f64). [`ImageGrid`] expects
//! 0..1 (0 black, 1 white; out-of-range values are clamped) and titles each picture
//! "label (pred p)", red when the prediction is wrong. [`FeatureMaps`] scales each map to its
//! own min..max and colours it with viridis. Colour (RGB) images are not supported.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::color;
use super::grid::{Tile, Tiles};
use super::render::{impl_plot, Draw, DrawResult};

/// Grayscale pictures in a grid, e.g. a batch of MNIST digits with predictions.
///
/// ```
/// use ferrolab::plot::{ImageGrid, Plot};
/// let blank = vec![0.0f32; 28 * 28];
/// let grid = ImageGrid::new(28, 28)
///     .push_predicted(&blank, 7, 7)
///     .push_predicted(&blank, 7, 1);
/// assert_eq!(grid.titles(), ["7 (pred 7)", "7 (pred 1)"]);
/// assert_eq!(grid.wrong(), [false, true]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ImageGrid {
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    /// Grid columns; about square when `None`.
    pub columns: Option<usize>,
    images: Vec<Tile>,
    pub size: (u32, u32),
}

impl ImageGrid {
    /// An empty grid of `rows`×`cols` pictures.
    pub fn new(rows: usize, cols: usize) -> Self {
        ImageGrid {
            title: String::new(),
            rows: rows.max(1),
            cols: cols.max(1),
            columns: None,
            images: Vec::new(),
            size: (640, 640),
        }
    }

    /// Builds a grid from a flat batch (`n·rows·cols` values) with a label per picture and
    /// a prediction per picture (pass an empty `preds` for labels only).
    pub fn from_batch<T: Copy + Into<f64>, L: std::fmt::Display>(
        rows: usize,
        cols: usize,
        batch: &[T],
        labels: &[L],
        preds: &[L],
    ) -> Self {
        let mut grid = ImageGrid::new(rows, cols);
        for (i, pixels) in batch.chunks(grid.rows * grid.cols).enumerate() {
            grid = match (labels.get(i), preds.get(i)) {
                (Some(l), Some(p)) => grid.push_predicted(pixels, l, p),
                (Some(l), None) => grid.push_titled(pixels, l.to_string()),
                _ => grid.push(pixels),
            };
        }
        grid
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    pub fn columns(mut self, columns: usize) -> Self {
        self.columns = Some(columns);
        self
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Adds an untitled picture; missing pixels are black, extra ones ignored.
    pub fn push<T: Copy + Into<f64>>(self, pixels: &[T]) -> Self {
        self.with_tile(pixels, String::new(), false)
    }

    /// Adds a picture with a plain title.
    pub fn push_titled<T: Copy + Into<f64>>(self, pixels: &[T], title: impl Into<String>) -> Self {
        self.with_tile(pixels, title.into(), false)
    }

    /// Adds a picture titled "label (pred p)", marked wrong when the two differ as text.
    pub fn push_predicted<T: Copy + Into<f64>>(
        self,
        pixels: &[T],
        label: impl std::fmt::Display,
        pred: impl std::fmt::Display,
    ) -> Self {
        let (label, pred) = (label.to_string(), pred.to_string());
        let wrong = label != pred;
        self.with_tile(pixels, format!("{label} (pred {pred})"), wrong)
    }

    fn with_tile<T: Copy + Into<f64>>(mut self, pixels: &[T], title: String, wrong: bool) -> Self {
        let mut values: Vec<f64> = pixels.iter().map(|&v| color::clamp01(v.into())).collect();
        values.resize(self.rows * self.cols, 0.0);
        self.images.push(Tile { title, wrong, values });
        self
    }

    pub fn len(&self) -> usize {
        self.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Each picture's title, in order.
    pub fn titles(&self) -> Vec<&str> {
        self.images.iter().map(|t| t.title.as_str()).collect()
    }

    /// Whether each picture's prediction is wrong (its title is drawn red).
    pub fn wrong(&self) -> Vec<bool> {
        self.images.iter().map(|t| t.wrong).collect()
    }

    fn tiles(&self) -> Tiles<'_> {
        Tiles {
            title: &self.title,
            rows: self.rows,
            cols: self.cols,
            columns: self.columns,
            tiles: self.images.clone(),
            cmap: color::gray,
        }
    }
}

impl Draw for ImageGrid {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        self.tiles().draw(area)
    }

    fn art(&self, width: usize) -> String {
        self.tiles().art(width)
    }
}

impl_plot!(ImageGrid);

/// Many small heatmaps, e.g. the channels of one convolution output.
///
/// ```
/// use ferrolab::plot::{FeatureMaps, Plot};
/// // 4 channels of 3×3, as a conv layer's output for one sample.
/// let data: Vec<f32> = (0..36).map(|i| i as f32).collect();
/// let maps = FeatureMaps::new(3, 3, &data);
/// assert_eq!(maps.len(), 4);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureMaps {
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    pub columns: Option<usize>,
    maps: Vec<Tile>,
    pub size: (u32, u32),
}

impl FeatureMaps {
    /// Splits `data` (channels·rows·cols, row-major) into maps, each titled by its channel.
    pub fn new<T: Copy + Into<f64>>(rows: usize, cols: usize, data: &[T]) -> Self {
        let (rows, cols) = (rows.max(1), cols.max(1));
        let maps = data
            .chunks(rows * cols)
            .enumerate()
            .map(|(i, chunk)| {
                let mut values: Vec<f64> = chunk.iter().map(|&v| v.into()).collect();
                values.resize(rows * cols, 0.0);
                Tile {
                    title: i.to_string(),
                    wrong: false,
                    values: normalise(&values),
                }
            })
            .collect();
        FeatureMaps {
            title: String::new(),
            rows,
            cols,
            columns: None,
            maps,
            size: (640, 640),
        }
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    pub fn columns(mut self, columns: usize) -> Self {
        self.columns = Some(columns);
        self
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    pub fn len(&self) -> usize {
        self.maps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    fn tiles(&self) -> Tiles<'_> {
        Tiles {
            title: &self.title,
            rows: self.rows,
            cols: self.cols,
            columns: self.columns,
            tiles: self.maps.clone(),
            cmap: color::viridis,
        }
    }
}

impl Draw for FeatureMaps {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        self.tiles().draw(area)
    }

    fn art(&self, width: usize) -> String {
        self.tiles().art(width)
    }
}

impl_plot!(FeatureMaps);

/// Scales to 0..1 by min..max; a constant map becomes all zeros.
pub(crate) fn normalise(values: &[f64]) -> Vec<f64> {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if hi <= lo {
        return vec![0.0; values.len()];
    }
    values.iter().map(|v| (v - lo) / (hi - lo)).collect()
}
