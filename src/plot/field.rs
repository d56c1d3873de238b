//! Plots over a plane with real x and y axes: [`Heatmap`] (a grid of values, e.g. a
//! spectrogram: time across, frequency up) and [`DecisionRegions`] (the class a model
//! predicts at every point of a 2-D input space, with labelled data points on top).
//!
//! Both are grids of `rows`×`cols` cells over `x_range`×`y_range`, row 0 at the bottom
//! (y grows upwards, as on any chart). Heatmap colours span the values' own min..max
//! (viridis); there is no colour bar, the text art states the scale. Decision regions are
//! tinted with the class colours, paler where the model is less sure. Cells of equal
//! colour next to each other in a row are drawn as one rectangle, so the SVG stays small.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::art::{self, fmt_num};
use super::color;
use super::font::FAMILY;
use super::images::normalise;
use super::line::{font_scale, text_rows};
use super::render::{impl_plot, Draw, DrawResult};

/// A grid of values over an x and a y range, coloured by value (viridis).
///
/// ```
/// use ferrolab::plot::{Heatmap, Plot};
/// // 2 rows (y) of 3 columns (x); row 0 is drawn at the bottom.
/// let map = Heatmap::new(2, 3, &[0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0])
///     .x_range(0.0, 0.3)
///     .x_label("time (s)");
/// assert!(map.svg(320, 200).contains("time (s)"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub rows: usize,
    pub cols: usize,
    /// Row-major values, `rows·cols` long; row 0 lies at `y_range.0`.
    pub values: Vec<f64>,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub size: (u32, u32),
}

impl Heatmap {
    /// A `rows`×`cols` grid over x in `0..cols` and y in `0..rows`; missing values are 0,
    /// extra ones ignored.
    pub fn new<T: Copy + Into<f64>>(rows: usize, cols: usize, values: &[T]) -> Self {
        let (rows, cols) = (rows.max(1), cols.max(1));
        let mut v: Vec<f64> = values.iter().map(|&x| x.into()).collect();
        v.resize(rows * cols, 0.0);
        Heatmap {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            rows,
            cols,
            values: v,
            x_range: (0.0, cols as f64),
            y_range: (0.0, rows as f64),
            size: super::DEFAULT_SIZE,
        }
    }

    /// Swaps rows and columns (and the two ranges and labels): a `frames × bins`
    /// spectrogram becomes time across and frequency up.
    pub fn transpose(self) -> Self {
        let values = (0..self.cols)
            .flat_map(|c| (0..self.rows).map(move |r| (r, c)))
            .map(|(r, c)| self.values[r * self.cols + c])
            .collect();
        Heatmap {
            rows: self.cols,
            cols: self.rows,
            values,
            x_range: self.y_range,
            y_range: self.x_range,
            x_label: self.y_label,
            y_label: self.x_label,
            ..self
        }
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

    /// The x values the grid's left and right edges stand for.
    pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = (lo, hi);
        self
    }

    /// The y values the grid's bottom and top edges stand for.
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = (lo, hi);
        self
    }

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    fn field(&self) -> Field<'_> {
        let scaled = normalise(&self.values);
        // Quantised a little so that neighbouring equal colours merge into one rectangle.
        let colours = scaled
            .iter()
            .map(|&t| color::viridis((t * 64.0).round() / 64.0))
            .collect();
        Field {
            title: &self.title,
            x_label: &self.x_label,
            y_label: &self.y_label,
            rows: self.rows,
            cols: self.cols,
            x_range: self.x_range,
            y_range: self.y_range,
            colours,
            points: &[],
            names: &[],
        }
    }
}

impl Draw for Heatmap {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        self.field().draw(area)
    }

    fn art(&self, width: usize) -> String {
        let scaled = normalise(&self.values);
        let mut out = self.field().art(width, |r, c| {
            let (rr, cc) = (r.min(self.rows - 1), c.min(self.cols - 1));
            art::shade(scaled[rr * self.cols + cc])
        });
        let finite = self.values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if lo <= hi {
            out.push_str(&format!("\nscale: ' '={}  █={}", fmt_num(lo), fmt_num(hi)));
        }
        out
    }
}

impl_plot!(Heatmap);

/// The class a classifier predicts over a 2-D input space, with labelled points on top.
///
/// Ask for the grid's cell centres with [`grid_points`](Self::grid_points), run the model
/// on them, and hand back its class probabilities (one row per point, as `predict_proba`
/// returns them) or its predicted classes.
///
/// ```
/// use ferrolab::plot::{DecisionRegions, Plot};
/// let view = DecisionRegions::new((-1.0, 1.0), (-1.0, 1.0), 20, 20);
/// // A "model" that says class 1 right of x = 0.
/// let xy = view.grid_points();
/// let classes: Vec<usize> = xy.chunks(2).map(|p| (p[0] > 0.0) as usize).collect();
/// let plot = view
///     .predictions(&classes)
///     .points(&[-0.5f32, 0.2, 0.5, -0.1], &[0, 1])
///     .class_names(&["left", "right"]);
/// assert!(plot.svg(400, 300).contains("right"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRegions {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub cols: usize,
    pub rows: usize,
    /// Class names, index = class; "0", "1", … when not given.
    pub classes: Vec<String>,
    /// Per grid cell (row-major, row 0 at the bottom): the predicted class and how sure
    /// the model is, 0 (no better than a guess) to 1.
    regions: Vec<(usize, f64)>,
    /// (x, y, label) of each data point.
    points: Vec<(f64, f64, usize)>,
    pub size: (u32, u32),
}

impl DecisionRegions {
    /// An empty view of `x_range`×`y_range` split into `cols`×`rows` cells.
    pub fn new(x_range: (f64, f64), y_range: (f64, f64), cols: usize, rows: usize) -> Self {
        DecisionRegions {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            x_range,
            y_range,
            cols: cols.max(1),
            rows: rows.max(1),
            classes: Vec::new(),
            regions: Vec::new(),
            points: Vec::new(),
            size: super::DEFAULT_SIZE,
        }
    }

    /// How many grid cells (and so grid points) there are.
    pub fn cells(&self) -> usize {
        self.rows * self.cols
    }

    /// The centre of every cell as `x, y` pairs, flat (`2·cells()` values), row by row from
    /// the bottom: ready to be a model's `(cells, 2)` input.
    pub fn grid_points(&self) -> Vec<f32> {
        let (x0, x1) = self.x_range;
        let (y0, y1) = self.y_range;
        let (dx, dy) = ((x1 - x0) / self.cols as f64, (y1 - y0) / self.rows as f64);
        let mut out = Vec::with_capacity(2 * self.cells());
        for r in 0..self.rows {
            for c in 0..self.cols {
                out.push((x0 + (c as f64 + 0.5) * dx) as f32);
                out.push((y0 + (r as f64 + 0.5) * dy) as f32);
            }
        }
        out
    }

    /// The model's class probabilities at the grid points, one row per point in the order
    /// of [`grid_points`](Self::grid_points); regions are shaded by how sure it is.
    pub fn probabilities(mut self, probs: &[Vec<f64>]) -> Self {
        self.regions = probs
            .iter()
            .map(|row| {
                let k = row.len().max(1) as f64;
                let (best, p) = row
                    .iter()
                    .copied()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (i, p)| if p > b.1 { (i, p) } else { b },
                    );
                let sure = if k > 1.0 {
                    (p - 1.0 / k) / (1.0 - 1.0 / k)
                } else {
                    1.0
                };
                (best, color::clamp01(sure))
            })
            .collect();
        self.regions.resize(self.cells(), (0, 0.0));
        self
    }

    /// The model's predicted class at the grid points, in the order of
    /// [`grid_points`](Self::grid_points); regions are drawn fully sure.
    pub fn predictions(mut self, classes: &[usize]) -> Self {
        self.regions = classes.iter().map(|&c| (c, 1.0)).collect();
        self.regions.resize(self.cells(), (0, 0.0));
        self
    }

    /// Data points as flat `x, y` pairs (a feature set of item shape `[2]`) with their labels.
    pub fn points<T: Copy + Into<f64>>(mut self, xy: &[T], labels: &[usize]) -> Self {
        self.points.extend(
            xy.chunks_exact(2)
                .zip(labels)
                .map(|(p, &l)| (p[0].into(), p[1].into(), l)),
        );
        self
    }

    pub fn class_names(mut self, names: &[impl ToString]) -> Self {
        self.classes = names.iter().map(ToString::to_string).collect();
        self
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

    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Classes that appear in the regions or the points, with their names.
    fn names(&self) -> Vec<String> {
        let used = self
            .regions
            .iter()
            .map(|r| r.0)
            .chain(self.points.iter().map(|p| p.2))
            .max()
            .map_or(0, |m| m + 1);
        (0..used.max(self.classes.len()))
            .map(|i| self.classes.get(i).cloned().unwrap_or_else(|| i.to_string()))
            .collect()
    }

    fn field<'a>(&'a self, names: &'a [String]) -> Field<'a> {
        let colours = (0..self.cells())
            .map(|i| match self.regions.get(i) {
                // Five steps of sureness: a pale tint near the boundary, stronger inside.
                Some(&(class, sure)) => tint(color::series(class), 0.12 + 0.3 * (sure * 4.0).round() / 4.0),
                None => WHITE,
            })
            .collect();
        Field {
            title: &self.title,
            x_label: &self.x_label,
            y_label: &self.y_label,
            rows: self.rows,
            cols: self.cols,
            x_range: self.x_range,
            y_range: self.y_range,
            colours,
            points: &self.points,
            names,
        }
    }
}

impl Draw for DecisionRegions {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let names = self.names();
        self.field(&names).draw(area)
    }

    fn art(&self, width: usize) -> String {
        let names = self.names();
        let field = self.field(&names);
        let mut out = field.art(width, |r, c| {
            let region = self.regions.get(r * self.cols + c).map(|reg| reg.0);
            region.map_or(' ', |class| REGION_CHARS[class % REGION_CHARS.len()])
        });
        let key: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let region = REGION_CHARS[i % REGION_CHARS.len()];
                format!("{}={n} (region '{region}')", MARKERS[i % MARKERS.len()])
            })
            .collect();
        for line in art::wrap(&key, width) {
            out.push('\n');
            out.push_str(&line);
        }
        out
    }
}

impl_plot!(DecisionRegions);

/// Text art: how each class's region is filled, and each class's point marker.
const REGION_CHARS: [char; 4] = [' ', '░', '▒', '·'];
const MARKERS: [char; 8] = ['o', 'x', '+', '*', '#', '@', '%', '&'];

/// `c` mixed with white: `amount` 0 is white, 1 the colour itself.
fn tint(c: RGBColor, amount: f64) -> RGBColor {
    let RGBColor(r, g, b) = c;
    let mix = |v: u8| (255.0 - (255.0 - f64::from(v)) * amount).round() as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

/// What a heatmap and a decision-region plot share: a coloured grid on real axes.
struct Field<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    rows: usize,
    cols: usize,
    x_range: (f64, f64),
    y_range: (f64, f64),
    /// Row-major cell colours, row 0 at the bottom.
    colours: Vec<RGBColor>,
    points: &'a [(f64, f64, usize)],
    names: &'a [String],
}

impl Field<'_> {
    /// Axis ends that are never empty.
    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let fix = |(lo, hi): (f64, f64)| {
            if lo.is_finite() && hi.is_finite() && lo < hi {
                (lo, hi)
            } else {
                (0.0, 1.0)
            }
        };
        (fix(self.x_range), fix(self.y_range))
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let s = font_scale(area);
        let ((x0, x1), (y0, y1)) = self.ranges();
        let mut builder = ChartBuilder::on(area);
        builder
            .margin((10.0 * s) as u32)
            .x_label_area_size((48.0 * s) as u32)
            .y_label_area_size((70.0 * s) as u32);
        if !self.title.is_empty() {
            builder.caption(self.title, (FAMILY, 22.0 * s));
        }
        let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .label_style((FAMILY, 15.0 * s))
            .axis_desc_style((FAMILY, 16.0 * s))
            .draw()?;

        // Runs of equal colour along a row become one rectangle.
        let (dx, dy) = ((x1 - x0) / self.cols as f64, (y1 - y0) / self.rows as f64);
        let mut rects = Vec::new();
        for r in 0..self.rows {
            let row = &self.colours[r * self.cols..(r + 1) * self.cols];
            let mut c = 0;
            while c < self.cols {
                let run = row[c..].iter().take_while(|&&f| f == row[c]).count();
                let corners = [
                    (x0 + c as f64 * dx, y0 + r as f64 * dy),
                    (x0 + (c + run) as f64 * dx, y0 + (r + 1) as f64 * dy),
                ];
                rects.push(Rectangle::new(corners, row[c].filled()));
                c += run;
            }
        }
        chart.draw_series(rects)?;

        let radius = (3.5 * s) as i32;
        let edge = RGBColor(40, 40, 40);
        for (class, name) in self.names.iter().enumerate() {
            let c = color::series(class);
            let mine: Vec<(f64, f64)> = self
                .points
                .iter()
                .filter(|p| p.2 == class && p.0.is_finite() && p.1.is_finite())
                .map(|p| (p.0, p.1))
                .collect();
            let shapes = mine.iter().flat_map(|&p| {
                [
                    Circle::new(p, radius, c.filled()),
                    Circle::new(p, radius, edge.stroke_width(1)),
                ]
            });
            chart
                .draw_series(shapes)?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 9, y), 5, c.filled()));
        }
        if !self.names.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font((FAMILY, 16.0 * s))
                .draw()?;
        }
        Ok(())
    }

    /// The grid as text `width` chars wide: `fill(row, col)` (grid indices, row 0 at the
    /// bottom) gives each text cell's char, points are drawn over it with their class marker.
    fn art(&self, width: usize, fill: impl Fn(usize, usize) -> char) -> String {
        let ((x0, x1), (y0, y1)) = self.ranges();
        let labels = [fmt_num(y1), fmt_num((y0 + y1) / 2.0), fmt_num(y0)];
        let lw = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
        let cols = width.saturating_sub(lw + 1).max(2);
        let rows = text_rows(width).max(3);
        // Text row t (0 at the top) and column u sample the grid cell under their centre.
        let grid_at = |t: usize, u: usize| {
            let r = ((rows - 1 - t) as f64 + 0.5) / rows as f64 * self.rows as f64;
            let c = (u as f64 + 0.5) / cols as f64 * self.cols as f64;
            (r as usize, c as usize)
        };
        let mut canvas: Vec<Vec<char>> = (0..rows)
            .map(|t| {
                (0..cols)
                    .map(|u| {
                        let (r, c) = grid_at(t, u);
                        fill(r, c)
                    })
                    .collect()
            })
            .collect();
        for &(x, y, class) in self.points {
            let (fx, fy) = ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
            if !(0.0..=1.0).contains(&fx) || !(0.0..=1.0).contains(&fy) {
                continue;
            }
            let u = ((fx * cols as f64) as usize).min(cols - 1);
            let t = (((1.0 - fy) * rows as f64) as usize).min(rows - 1);
            canvas[t][u] = MARKERS[class % MARKERS.len()];
        }

        let mut out = Vec::new();
        if !self.title.is_empty() {
            out.push(art::truncate(self.title, width));
        }
        if !self.y_label.is_empty() {
            out.push(art::truncate(self.y_label, width));
        }
        for (t, row) in canvas.iter().enumerate() {
            let label = match t {
                0 => labels[0].as_str(),
                t if t == rows / 2 => labels[1].as_str(),
                t if t == rows - 1 => labels[2].as_str(),
                _ => "",
            };
            let tick = if label.is_empty() { '│' } else { '┤' };
            out.push(format!(
                "{}{tick}{}",
                art::pad(label, lw, true),
                row.iter().collect::<String>()
            ));
        }
        out.push(format!("{}└{}", " ".repeat(lw), "─".repeat(cols)));
        let (left, right) = (fmt_num(x0), fmt_num(x1));
        let gap = cols
            .saturating_sub(left.chars().count() + right.chars().count())
            .max(1);
        out.push(format!("{} {left}{}{right}", " ".repeat(lw), " ".repeat(gap)));
        if !self.x_label.is_empty() {
            let lead = lw + 1 + cols.saturating_sub(self.x_label.chars().count()) / 2;
            out.push(format!("{}{}", " ".repeat(lead), self.x_label));
        }
        out.join("\n")
    }
}
