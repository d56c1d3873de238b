//! Confusion matrices: counts of (true class, predicted class) with class names.
//!
//! Rows are true classes, columns predictions. Images colour cells by count (white → blue)
//! with the number in each cell; text art is an aligned number table. It does not normalise
//! rows to rates.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::art;
use super::color;
use super::grid::Matrix;
use super::render::{impl_plot, Draw, DrawResult};

/// Counts of true class (row) against predicted class (column).
///
/// ```
/// use ferrolab::plot::ConfusionMatrix;
/// let cm = ConfusionMatrix::from_predictions(&["cat", "dog"], &[0, 0, 1, 1], &[0, 1, 1, 1]);
/// assert_eq!(cm.count(0, 1), 1);
/// assert_eq!(cm.accuracy(), 0.75);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionMatrix {
    pub title: String,
    pub classes: Vec<String>,
    /// Row-major `n×n` counts.
    pub counts: Vec<u64>,
    pub size: (u32, u32),
}

impl ConfusionMatrix {
    /// From a ready `n×n` row-major count table (n = number of classes); missing counts are 0.
    pub fn new(classes: &[impl ToString], counts: &[u64]) -> Self {
        let classes: Vec<String> = classes.iter().map(ToString::to_string).collect();
        let n = classes.len();
        let mut counts = counts.to_vec();
        counts.resize(n * n, 0);
        ConfusionMatrix {
            title: String::new(),
            classes,
            counts,
            size: (560, 520),
        }
    }

    /// Counts pairs of true and predicted class indices; pairs out of range are ignored.
    pub fn from_predictions(classes: &[impl ToString], truth: &[usize], pred: &[usize]) -> Self {
        let mut cm = Self::new(classes, &[]);
        let n = cm.classes.len();
        for (&t, &p) in truth.iter().zip(pred) {
            if t < n && p < n {
                cm.counts[t * n + p] += 1;
            }
        }
        cm
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// How often class `truth` was predicted as `pred`.
    pub fn count(&self, truth: usize, pred: usize) -> u64 {
        self.counts[truth * self.classes.len() + pred]
    }

    /// Share of the diagonal; 0 when empty.
    pub fn accuracy(&self) -> f64 {
        let n = self.classes.len();
        let total: u64 = self.counts.iter().sum();
        let right: u64 = (0..n).map(|i| self.counts[i * n + i]).sum();
        if total == 0 {
            0.0
        } else {
            right as f64 / total as f64
        }
    }

    /// The given title, else one stating the accuracy.
    fn heading(&self) -> String {
        if self.title.is_empty() {
            format!("confusion matrix (accuracy {:.1}%)", 100.0 * self.accuracy())
        } else {
            self.title.clone()
        }
    }
}

impl Draw for ConfusionMatrix {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let n = self.classes.len();
        let max = self.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        let heading = self.heading();
        let matrix = Matrix {
            title: &heading,
            rows: n,
            cols: n,
            row_labels: &self.classes,
            col_labels: &self.classes,
            x_title: "predicted",
            y_title: "true",
        };
        matrix.draw(
            area,
            |r, c| color::blues(self.counts[r * n + c] as f64 / max),
            |r, c| Some(self.counts[r * n + c].to_string()),
        )
    }

    /// A table with right-aligned counts; class names shrink (then become indices) to fit.
    fn art(&self, width: usize) -> String {
        let longest = self.classes.iter().map(|c| c.chars().count()).max().unwrap_or(1);
        let named =
            |limit: usize| -> Vec<String> { self.classes.iter().map(|c| art::truncate(c, limit)).collect() };
        let too_wide = |t: &[String]| t.iter().any(|l| l.chars().count() > width);
        let mut lines = vec![art::truncate(&self.heading(), width)];
        // Longest names that fit; failing that, indices with a key below.
        // Names cut below 3 chars say nothing, so indices take over there.
        let table = (longest.min(3)..=longest)
            .rev()
            .map(|l| self.table(&named(l)))
            .find(|t| !too_wide(t));
        match table {
            Some(t) => lines.extend(t),
            None => {
                let idx: Vec<String> = (0..self.classes.len()).map(|i| i.to_string()).collect();
                lines.extend(self.table(&idx));
                let key: Vec<String> = self
                    .classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{i}={c}"))
                    .collect();
                lines.extend(art::wrap(&key, width));
            }
        }
        lines.join("\n")
    }
}

impl ConfusionMatrix {
    /// Header row plus one row per true class, columns right-aligned.
    fn table(&self, names: &[String]) -> Vec<String> {
        let n = names.len();
        let corner = "true\\pred";
        let digits = self.counts.iter().map(|c| c.to_string().len()).max().unwrap_or(1);
        let name_w = names.iter().map(|s| s.chars().count()).max().unwrap_or(1);
        let col_w = name_w.max(digits);
        let head_w = name_w.max(corner.len());
        let header: String = names
            .iter()
            .map(|c| format!(" {}", art::pad(c, col_w, true)))
            .collect();
        let mut rows = vec![format!("{}{header}", art::pad(corner, head_w, false))];
        for (r, name) in names.iter().enumerate() {
            let cells: String = (0..n)
                .map(|c| format!(" {}", art::pad(&self.counts[r * n + c].to_string(), col_w, true)))
                .collect();
            rows.push(format!("{}{cells}", art::pad(name, head_w, false)));
        }
        rows
    }
}

impl_plot!(ConfusionMatrix);
