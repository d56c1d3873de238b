//! Training curves: named per-epoch series such as train/validation loss and accuracy.
//!
//! A series whose name contains "acc" (any case) goes to an accuracy panel, every other
//! series to a loss panel; with both present the plot has two panels side by side (stacked
//! in text art). Names containing "val" draw dashed. Epochs are numbered from 1. It knows
//! nothing of the training loop: feed it numbers, e.g. from a `History`, or [`Curves::push`]
//! one value per epoch and redraw it with a display handle.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::font::FAMILY;
use super::line::{self, LineChart, Series, SeriesKind};
use super::render::{impl_plot, Draw, DrawResult};

/// Per-epoch metric curves.
///
/// ```
/// use ferrolab::plot::{Curves, Plot};
/// let curves = Curves::new()
///     .add("train loss", &[0.9, 0.5, 0.3])
///     .add("val loss", &[1.0, 0.6, 0.45])
///     .add("train acc", &[0.6, 0.8, 0.9]);
/// assert_eq!(curves.panels().len(), 2);
/// assert!(curves.text(60).lines().all(|l| l.chars().count() <= 60));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Curves {
    pub title: String,
    /// (name, value per epoch) in insertion order.
    pub series: Vec<(String, Vec<f64>)>,
    pub size: (u32, u32),
}

impl Default for Curves {
    fn default() -> Self {
        Curves {
            title: String::new(),
            series: Vec::new(),
            size: (900, 380),
        }
    }
}

impl Curves {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Adds (or replaces) a whole series; f32 or f64 values.
    pub fn add<T: Copy + Into<f64>>(mut self, name: impl Into<String>, values: &[T]) -> Self {
        let name = name.into();
        let values: Vec<f64> = values.iter().map(|&v| v.into()).collect();
        match self.series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = values,
            None => self.series.push((name, values)),
        }
        self
    }

    /// Appends one epoch's value to the named series, creating it if needed.
    pub fn push(&mut self, name: &str, value: impl Into<f64>) {
        let value = value.into();
        match self.series.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(value),
            None => self.series.push((name.to_string(), vec![value])),
        }
    }

    /// The panels to draw: loss-like series first, then accuracy; empty panels left out.
    pub fn panels(&self) -> Vec<LineChart> {
        let (acc, loss): (Vec<_>, Vec<_>) = self
            .series
            .iter()
            .partition(|(name, _)| name.to_lowercase().contains("acc"));
        let mut panels = Vec::new();
        if !loss.is_empty() {
            let title = if loss.iter().all(|(n, _)| n.to_lowercase().contains("loss")) {
                "loss"
            } else {
                "metrics"
            };
            panels.push(panel(title, &loss, None));
        }
        if !acc.is_empty() {
            // Accuracies in 0..1 get a fixed axis so panels from different runs compare.
            let unit = acc.iter().flat_map(|(_, v)| v).all(|v| (0.0..=1.0).contains(v));
            panels.push(panel("accuracy", &acc, unit.then_some((0.0, 1.0))));
        }
        if panels.is_empty() {
            panels.push(panel("loss", &[], None));
        }
        panels
    }
}

fn panel(title: &str, series: &[&(String, Vec<f64>)], y_range: Option<(f64, f64)>) -> LineChart {
    let mut chart = LineChart::new().title(title).x_label("epoch").y_label(title);
    chart.y_range = y_range;
    for (name, values) in series {
        chart.push_series(Series {
            name: name.clone(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v))
                .collect(),
            kind: SeriesKind::Line,
            dashed: name.to_lowercase().contains("val"),
        });
    }
    chart
}

impl Draw for Curves {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let area = if self.title.is_empty() {
            area.clone()
        } else {
            let s = line::font_scale(area);
            area.titled(&self.title, (FAMILY, 24.0 * s))?
        };
        let panels = self.panels();
        for (panel, part) in panels.iter().zip(area.split_evenly((1, panels.len()))) {
            panel.draw_on(&part)?;
        }
        Ok(())
    }

    fn art(&self, width: usize) -> String {
        let panels = self.panels();
        // Stacked panels share the height a single chart would get, within reason.
        let rows = (line::text_rows(width) * 2 / (panels.len() + 1)).max(4);
        let mut parts = Vec::new();
        if !self.title.is_empty() {
            parts.push(self.title.clone());
        }
        parts.extend(panels.iter().map(|p| p.art_sized(width, rows)));
        parts.join("\n\n")
    }
}

impl_plot!(Curves);
