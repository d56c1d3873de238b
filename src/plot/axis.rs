//! Axis scales for line charts: linear, or logarithmic (base 10) with ticks at round values.
//!
//! A chart draws in "plot space": a linear axis keeps values as they are, a log axis maps
//! each value `v` to `log10(v)`. Ticks are chosen in data space and mapped: on a log axis
//! powers of ten when the range spans at least two of them, else the 1-2-5 multiples, else
//! 1…9 multiples, else plain linear ticks, so a range inside one decade still gets
//! readable labels. Values ≤ 0 have no place on a log axis and are skipped like NaN.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, LightPoints, Ranged};
use plotters::coord::types::RangedCoordf64;

use super::art::fmt_num;

/// How an axis places values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scale {
    /// Equal steps for equal differences.
    #[default]
    Linear,
    /// Equal steps for equal ratios (base 10); only positive values are drawn.
    Log,
}

impl Scale {
    /// Where `v` sits in plot space; `None` when it cannot be drawn on this scale.
    pub(crate) fn to_plot(self, v: f64) -> Option<f64> {
        match self {
            _ if !v.is_finite() => None,
            Scale::Linear => Some(v),
            Scale::Log if v > 0.0 => Some(v.log10()),
            Scale::Log => None,
        }
    }

    /// The data value at plot position `p`.
    pub(crate) fn value_at(self, p: f64) -> f64 {
        match self {
            Scale::Linear => p,
            Scale::Log => 10f64.powf(p),
        }
    }
}

/// One axis fitted to its data: the scale and the two ends, in plot space.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Axis {
    pub scale: Scale,
    pub lo: f64,
    pub hi: f64,
}

impl Axis {
    /// Spans the drawable `values`, widened on each side by `pad` of the span (in plot
    /// space); a unit range around a single value, 0..1 (1..10 on a log axis) when empty.
    pub(crate) fn fit(scale: Scale, values: impl Iterator<Item = f64>, pad: f64) -> Axis {
        let placed = values.filter_map(|v| scale.to_plot(v));
        let (lo, hi) = placed.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p), hi.max(p))
        });
        let (lo, hi) = if lo > hi {
            (0.0, 1.0)
        } else if lo == hi {
            // A single value: a decade around it on a log axis, ±10 % on a linear one.
            let d = match scale {
                Scale::Log => 0.5,
                Scale::Linear if lo == 0.0 => 0.5,
                Scale::Linear => lo.abs() * 0.1,
            };
            (lo - d, hi + d)
        } else {
            let p = (hi - lo) * pad;
            (lo - p, hi + p)
        };
        Axis { scale, lo, hi }
    }

    /// A fixed data range; `None` when it cannot be drawn on this scale (e.g. 0 on a log axis).
    pub(crate) fn fixed(scale: Scale, lo: f64, hi: f64) -> Option<Axis> {
        let (lo, hi) = (scale.to_plot(lo)?, scale.to_plot(hi)?);
        (lo < hi).then_some(Axis { scale, lo, hi })
    }

    /// Where plot position `p` falls along the axis, 0 at `lo` and 1 at `hi`.
    pub(crate) fn fraction(&self, p: f64) -> f64 {
        (p - self.lo) / (self.hi - self.lo)
    }

    /// The data value at the axis' middle (the geometric mean of the ends on a log axis).
    pub(crate) fn middle(&self) -> f64 {
        self.scale.value_at((self.lo + self.hi) / 2.0)
    }

    /// At most about `max` labelled ticks and the lighter grid lines between them, in plot space.
    pub(crate) fn ticks(&self, max: usize) -> (Vec<f64>, Vec<f64>) {
        let linear = RangedCoordf64::from(self.lo..self.hi);
        match self.scale {
            Scale::Linear => (
                linear.key_points(max),
                linear.key_points(LightPoints::new(max, max * 10)),
            ),
            Scale::Log => {
                let (lo, hi) = (10f64.powf(self.lo), 10f64.powf(self.hi));
                let bold = log_ticks(lo, hi, max);
                let bold: Vec<f64> = if bold.len() >= 2 {
                    bold.iter().map(|v| v.log10()).collect()
                } else {
                    // Too narrow for round multiples: linear ticks of the data values.
                    RangedCoordf64::from(lo..hi)
                        .key_points(max)
                        .into_iter()
                        .filter(|&v| v > 0.0)
                        .map(f64::log10)
                        .collect()
                };
                let light = multiples(lo, hi, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
                let light = if light.len() <= max * 10 {
                    light.iter().map(|v| v.log10()).collect()
                } else {
                    Vec::new()
                };
                (bold, light)
            }
        }
    }

    /// The axis as plotters coordinates with these ticks: about `max` labelled ones.
    pub(crate) fn coord(&self, max: usize) -> Ticked {
        let (bold, light) = self.ticks(max);
        Ticked {
            linear: (self.lo..self.hi).into(),
            bold,
            light,
        }
    }

    /// The label of a tick at plot position `p`.
    pub(crate) fn label(&self, p: f64) -> String {
        match self.scale {
            Scale::Linear => fmt_num(p),
            Scale::Log => fmt_log(10f64.powf(p)),
        }
    }
}

/// A linear plotters coordinate in plot space whose ticks are chosen by [`Axis::ticks`]
/// (plotters' own `WithKeyPoints` does not take a label formatter for `f64`).
pub(crate) struct Ticked {
    linear: RangedCoordf64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

/// Round values in `lo..=hi` for a log axis, at most `max` of them (at least 2 when possible):
/// powers of ten (every k-th when there are too many), else 1-2-5 multiples, else 1…9.
fn log_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let max = max.max(2);
    let powers = multiples(lo, hi, &[1.0]);
    if powers.len() >= 2 {
        let step = powers.len().div_ceil(max);
        return powers.into_iter().step_by(step).collect();
    }
    for mantissas in [
        &[1.0, 2.0, 5.0][..],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ] {
        let ticks = multiples(lo, hi, mantissas);
        if ticks.len() >= 2 {
            let step = ticks.len().div_ceil(max);
            return ticks.into_iter().step_by(step).collect();
        }
    }
    Vec::new()
}

/// Every `m · 10^k` (m from `mantissas`) in `lo..=hi`, ascending; `lo > 0`.
fn multiples(lo: f64, hi: f64, mantissas: &[f64]) -> Vec<f64> {
    if !(lo > 0.0 && hi >= lo && hi.is_finite()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    for k in first..=last {
        let scale = 10f64.powi(k);
        for &m in mantissas {
            let v = m * scale;
            // A hair of slack so that ends like 1e-3 computed as 0.00099999… still count.
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v);
            }
        }
    }
    out
}

/// A log tick label: `1e9`, `2e-5` for values far from 1, plain numbers otherwise.
pub(crate) fn fmt_log(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return fmt_num(v);
    }
    let exp = v.log10().floor();
    if (-3.0..5.0).contains(&exp) {
        return fmt_num(v);
    }
    let mantissa = v / 10f64.powf(exp);
    let m = format!("{mantissa:.1}");
    let m = m.trim_end_matches('0').trim_end_matches('.');
    format!("{m}e{exp}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(ticks: &[f64]) -> Vec<f64> {
        ticks
            .iter()
            .map(|p| (10f64.powf(*p) * 1e6).round() / 1e6)
            .collect()
    }

    #[test]
    fn log_ticks_prefer_powers_of_ten_then_finer_multiples() {
        let wide = Axis::fit(Scale::Log, [3.0, 2e6].into_iter(), 0.0);
        assert_eq!(data(&wide.ticks(8).0), vec![10.0, 100.0, 1e3, 1e4, 1e5, 1e6]);
        let many = Axis::fit(Scale::Log, [1.0, 1e12].into_iter(), 0.0);
        assert!(many.ticks(5).0.len() <= 5);
        let narrow = Axis::fit(Scale::Log, [0.15, 0.9].into_iter(), 0.0);
        assert_eq!(data(&narrow.ticks(6).0), vec![0.2, 0.5]);
        // Only one round multiple (0.4) inside: linear ticks of the data take over.
        let tight = Axis::fit(Scale::Log, [0.31, 0.48].into_iter(), 0.0);
        let ticks = data(&tight.ticks(6).0);
        assert!(ticks.len() >= 2, "{ticks:?}");
        assert!(ticks.iter().all(|&v| (0.31..=0.48).contains(&v)), "{ticks:?}");
    }

    #[test]
    fn log_axes_skip_what_they_cannot_draw() {
        assert_eq!(Scale::Log.to_plot(0.0), None);
        assert_eq!(Scale::Log.to_plot(-1.0), None);
        assert_eq!(Scale::Log.to_plot(100.0), Some(2.0));
        assert_eq!(Axis::fixed(Scale::Log, 0.0, 1.0), None);
        let only_bad = Axis::fit(Scale::Log, [0.0, -3.0, f64::NAN].into_iter(), 0.05);
        assert_eq!((only_bad.lo, only_bad.hi), (0.0, 1.0));
        let single = Axis::fit(Scale::Log, [100.0].into_iter(), 0.05);
        assert!((single.middle() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn log_labels_are_compact() {
        assert_eq!(fmt_log(1e9), "1e9");
        assert_eq!(fmt_log(2e-5), "2e-5");
        assert_eq!(fmt_log(1750e8), "1.8e11");
        assert_eq!(fmt_log(500.0), "500");
        assert_eq!(fmt_log(0.02), "0.02");
    }
}
