//! General line and scatter charts: several named series, a title, axis labels, a legend.
//!
//! Axes are fitted to the data (or to a fixed y range), each linear or logarithmic
//! ([`LineChart::log_x`], [`LineChart::log_y`]: a power law `y = c·x^a` draws as a straight
//! line on both). No secondary axes, no dates. Points that an axis cannot show (non-finite
//! values, values ≤ 0 on a log axis) are skipped.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::art::{self, Braille};
use super::axis::{Axis, Scale};
use super::color;
use super::font::FAMILY;
use super::render::{impl_plot, Draw, DrawResult};

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesKind {
    /// Points joined by straight lines.
    Line,
    /// Points only.
    Scatter,
}

/// One named set of (x, y) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub kind: SeriesKind,
    /// Drawn dashed in images (e.g. validation curves); text art ignores it.
    pub dashed: bool,
}

/// A line/scatter chart of several series.
///
/// ```
/// use ferrolab::plot::{LineChart, Plot};
/// let chart = LineChart::new()
///     .title("y = x²")
///     .x_label("x")
///     .y_label("y")
///     .line("x²", &[0.0, 1.0, 2.0], &[0.0, 1.0, 4.0])
///     .scatter("samples", &[0.5, 1.5], &[0.3, 2.1]);
/// assert!(chart.svg(320, 200).starts_with("<svg"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Fixed y axis range; fitted to the data when `None` (or when a log axis cannot show it).
    pub y_range: Option<(f64, f64)>,
    pub x_scale: Scale,
    pub y_scale: Scale,
    /// Default size in pixels for [`Plot::to_svg`](super::Plot::to_svg) and friends.
    pub size: (u32, u32),
}

impl Default for LineChart {
    fn default() -> Self {
        LineChart {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            series: Vec::new(),
            y_range: None,
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            size: super::DEFAULT_SIZE,
        }
    }
}

impl LineChart {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }

    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }

    /// Fixes the y axis to `lo..hi` (e.g. 0..1 for accuracy).
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// A logarithmic x axis (base 10); points with x ≤ 0 are not drawn.
    pub fn log_x(mut self) -> Self {
        self.x_scale = Scale::Log;
        self
    }

    /// A logarithmic y axis (base 10); points with y ≤ 0 are not drawn.
    pub fn log_y(mut self) -> Self {
        self.y_scale = Scale::Log;
        self
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Adds a line through `(xs[i], ys[i])`; extra values in the longer slice are ignored.
    pub fn line<X: Copy + Into<f64>, Y: Copy + Into<f64>>(
        self,
        name: impl Into<String>,
        xs: &[X],
        ys: &[Y],
    ) -> Self {
        self.with_series(name.into(), zip(xs, ys), SeriesKind::Line)
    }

    /// Adds a line through `(i, ys[i])` for i = 0, 1, …
    pub fn line_y<Y: Copy + Into<f64>>(self, name: impl Into<String>, ys: &[Y]) -> Self {
        let xs: Vec<f64> = (0..ys.len()).map(|i| i as f64).collect();
        self.line(name, &xs, ys)
    }

    /// Adds unjoined points.
    pub fn scatter<X: Copy + Into<f64>, Y: Copy + Into<f64>>(
        self,
        name: impl Into<String>,
        xs: &[X],
        ys: &[Y],
    ) -> Self {
        self.with_series(name.into(), zip(xs, ys), SeriesKind::Scatter)
    }

    /// Adds a prepared series.
    pub fn push_series(&mut self, series: Series) {
        self.series.push(series);
    }

    fn with_series(mut self, name: String, points: Vec<(f64, f64)>, kind: SeriesKind) -> Self {
        self.series.push(Series {
            name,
            points,
            kind,
            dashed: false,
        });
        self
    }

    /// A series' points that both axes can show, in plot space (log10 on a log axis).
    fn placed(&self, series: &Series) -> Vec<(f64, f64)> {
        series
            .points
            .iter()
            .filter_map(|&(x, y)| Some((self.x_scale.to_plot(x)?, self.y_scale.to_plot(y)?)))
            .collect()
    }

    /// Every series' drawable points, in plot space.
    fn all_placed(&self) -> Vec<(f64, f64)> {
        self.series.iter().flat_map(|s| self.placed(s)).collect()
    }

    /// The axes: x spans the data, y the data padded by 5% (or the fixed range); never empty.
    fn axes(&self) -> (Axis, Axis) {
        // Only points both axes can show count, so a y ≤ 0 does not stretch a linear x axis.
        let shown: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|&(x, y)| self.x_scale.to_plot(x).is_some() && self.y_scale.to_plot(y).is_some())
            .collect();
        let x = Axis::fit(self.x_scale, shown.iter().map(|p| p.0), 0.0);
        let fitted = || Axis::fit(self.y_scale, shown.iter().map(|p| p.1), 0.05);
        let y = match self.y_range {
            Some((lo, hi)) => Axis::fixed(self.y_scale, lo, hi).unwrap_or_else(fitted),
            None => fitted(),
        };
        (x, y)
    }

    /// Draws the chart into `area`; [`Curves`](super::Curves) uses it for each panel.
    pub(crate) fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let s = font_scale(area);
        let (x, y) = self.axes();
        let mut builder = ChartBuilder::on(area);
        builder
            .margin((10.0 * s) as u32)
            .x_label_area_size((48.0 * s) as u32)
            .y_label_area_size((70.0 * s) as u32);
        if !self.title.is_empty() {
            builder.caption(&self.title, (FAMILY, 22.0 * s));
        }
        // Ticks chosen here (round values on log axes too), drawn at their plot positions.
        let mut chart = builder.build_cartesian_2d(x.coord(8), y.coord(6))?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&|v| x.label(*v))
            .y_label_formatter(&|v| y.label(*v))
            .label_style((FAMILY, 15.0 * s))
            .axis_desc_style((FAMILY, 16.0 * s))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()?;

        let stroke = (2.0 * s).round().max(1.0) as u32;
        for (i, series) in self.series.iter().enumerate() {
            let c = color::series(i);
            let pts = self.placed(series);
            let anno = match (series.kind, series.dashed) {
                (SeriesKind::Line, false) => {
                    chart.draw_series(LineSeries::new(pts, c.stroke_width(stroke)))?
                }
                (SeriesKind::Line, true) => chart.draw_series(DashedLineSeries::new(
                    pts,
                    (6.0 * s) as u32,
                    (4.0 * s) as u32,
                    c.stroke_width(stroke),
                ))?,
                (SeriesKind::Scatter, _) => chart.draw_series(
                    pts.into_iter()
                        .map(|p| Circle::new(p, (3.0 * s) as u32, c.filled())),
                )?,
            };
            if !series.name.is_empty() {
                let kind = series.kind;
                anno.label(series.name.as_str()).legend(move |(x, y)| match kind {
                    SeriesKind::Line => {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(stroke)).into_dyn()
                    }
                    SeriesKind::Scatter => Circle::new((x + 9, y), 4, c.filled()).into_dyn(),
                });
            }
        }
        if self.series.iter().any(|s| !s.name.is_empty()) {
            chart
                .configure_series_labels()
                .position(self.legend_corner())
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font((FAMILY, 16.0 * s))
                .draw()?;
        }
        Ok(())
    }

    /// The corner whose quarter of the plot holds the fewest points, so the legend
    /// hides as little data as possible (falling loss: top right; rising accuracy: bottom).
    fn legend_corner(&self) -> SeriesLabelPosition {
        let (x, y) = self.axes();
        let pts = self.all_placed();
        let count = |right: bool, top: bool| {
            pts.iter()
                .filter(|(px, py)| {
                    let fx = x.fraction(*px);
                    let fy = y.fraction(*py);
                    (if right { fx > 0.6 } else { fx < 0.4 }) && (if top { fy > 0.6 } else { fy < 0.4 })
                })
                .count()
        };
        [
            (SeriesLabelPosition::UpperRight, count(true, true)),
            (SeriesLabelPosition::LowerRight, count(true, false)),
            (SeriesLabelPosition::UpperLeft, count(false, true)),
            (SeriesLabelPosition::LowerLeft, count(false, false)),
        ]
        .into_iter()
        .min_by_key(|(_, n)| *n)
        .map(|(corner, _)| corner)
        .unwrap_or(SeriesLabelPosition::UpperRight)
    }

    /// Braille art `width` chars wide with a plot area `rows` chars high.
    pub(crate) fn art_sized(&self, width: usize, rows: usize) -> String {
        let (x, y) = self.axes();
        let labels = [y.label(y.hi), y_middle_label(&y), y.label(y.lo)];
        let lw = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
        let cols = width.saturating_sub(lw + 1).max(2);
        let rows = rows.max(3);

        let mut canvas = Braille::new(cols, rows);
        let (dw, dh) = canvas.dot_size();
        let to_dot = |(px, py): (f64, f64)| {
            let fx = x.fraction(px);
            let fy = 1.0 - y.fraction(py);
            (
                (fx * (dw - 1) as f64).round() as i64,
                (fy * (dh - 1) as f64).round() as i64,
            )
        };
        let tagged = self.series.len() > 1;
        for (i, series) in self.series.iter().enumerate() {
            let dots: Vec<(i64, i64)> = self.placed(series).into_iter().map(to_dot).collect();
            match series.kind {
                SeriesKind::Line => dots.windows(2).for_each(|w| canvas.line(w[0], w[1])),
                SeriesKind::Scatter => {}
            }
            dots.iter().for_each(|&(x, y)| canvas.set(x, y));
            // With several series, a tag char at the middle and end tells them apart.
            if tagged {
                for &(x, y) in [dots.get(dots.len() / 2), dots.last()].into_iter().flatten() {
                    canvas.tag(x, y, tag(i));
                }
            }
        }

        let mut out = Vec::new();
        if !self.title.is_empty() {
            out.push(art::truncate(&self.title, width));
        }
        let y_title = with_scale_note(&self.y_label, y.scale);
        if !y_title.is_empty() && self.y_label != self.title {
            out.push(art::truncate(&y_title, width));
        }
        for (r, row) in canvas.rows().into_iter().enumerate() {
            let (label, tick) = match r {
                0 => (labels[0].as_str(), '┤'),
                r if r == rows / 2 => (labels[1].as_str(), '┤'),
                r if r == rows - 1 => (labels[2].as_str(), '┤'),
                _ => ("", '│'),
            };
            out.push(format!("{}{tick}{row}", art::pad(label, lw, true)));
        }
        out.push(format!("{}└{}", " ".repeat(lw), "─".repeat(cols)));
        let (left, right) = (x.label(x.lo), x.label(x.hi));
        let gap = cols
            .saturating_sub(left.chars().count() + right.chars().count())
            .max(1);
        out.push(format!("{} {left}{}{right}", " ".repeat(lw), " ".repeat(gap)));
        let x_title = with_scale_note(&self.x_label, x.scale);
        if !x_title.is_empty() {
            let lead = lw + 1 + cols.saturating_sub(x_title.chars().count()) / 2;
            out.push(format!("{}{}", " ".repeat(lead), x_title));
        }
        let legend: Vec<String> = self
            .series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.name.is_empty())
            .map(|(i, s)| {
                if tagged {
                    format!("{} {}", tag(i), s.name)
                } else {
                    s.name.clone()
                }
            })
            .collect();
        out.extend(art::wrap(&legend, width));
        out.join("\n")
    }
}

impl Draw for LineChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        self.draw_on(area)
    }

    fn art(&self, width: usize) -> String {
        self.art_sized(width, text_rows(width))
    }
}

impl_plot!(LineChart);

/// The text art's middle y label: the value halfway up (the geometric mean on a log axis).
fn y_middle_label(y: &Axis) -> String {
    match y.scale {
        Scale::Linear => art::fmt_num(y.middle()),
        Scale::Log => super::axis::fmt_log(y.middle()),
    }
}

/// An axis title for text art, which has too few ticks to show the scale: `loss (log)`.
fn with_scale_note(label: &str, scale: Scale) -> String {
    match (scale, label.is_empty()) {
        (Scale::Linear, _) => label.to_string(),
        (Scale::Log, true) => "(log scale)".to_string(),
        (Scale::Log, false) => format!("{label} (log)"),
    }
}

/// Rows of a text chart's plot area for a given width: about a quarter, within 4..=14.
pub(crate) fn text_rows(width: usize) -> usize {
    (width / 5).clamp(4, 14)
}

/// Font and stroke scale for an area, so small images keep proportionate text.
pub(crate) fn font_scale<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> f64 {
    let (w, h) = area.dim_in_pixel();
    // Below 0.8 the embedded font rasterises too small to read.
    (f64::from(w.min(h)) / 400.0).clamp(0.8, 2.5)
}

/// The legend tag of series `i` in text art: 1–9, then letters.
fn tag(i: usize) -> char {
    const TAGS: &[u8] = b"123456789abcdefghijklmnopqrstuvwxyz";
    char::from(TAGS[i % TAGS.len()])
}

fn zip<X: Copy + Into<f64>, Y: Copy + Into<f64>>(xs: &[X], ys: &[Y]) -> Vec<(f64, f64)> {
    xs.iter().zip(ys).map(|(&x, &y)| (x.into(), y.into())).collect()
}
