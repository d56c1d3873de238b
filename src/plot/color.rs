//! Colours shared by the plots: a categorical palette for series and two colour maps.
//!
//! Only what the plot kinds here need; no user-defined themes.

use plotters::style::RGBColor;

/// Ten distinguishable series colours (the familiar "category 10" hues).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of the `i`-th series; wraps around after ten.
pub(crate) fn series(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Red used for wrong predictions.
pub(crate) const WRONG: RGBColor = RGBColor(200, 0, 0);

/// Perceptually ordered dark-blue → green → yellow map for heatmaps; `t` in 0..=1.
pub(crate) fn viridis(t: f64) -> RGBColor {
    // Five anchor colours of the viridis map, linearly interpolated between.
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    interpolate(&STOPS, t)
}

/// White → dark blue, for counts (confusion matrices); `t` in 0..=1.
pub(crate) fn blues(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 3] = [(247.0, 251.0, 255.0), (107.0, 174.0, 214.0), (8.0, 48.0, 107.0)];
    interpolate(&STOPS, t)
}

/// Black → white for grayscale images; `t` in 0..=1.
pub(crate) fn gray(t: f64) -> RGBColor {
    let v = (clamp01(t) * 255.0).round() as u8;
    RGBColor(v, v, v)
}

/// Whether black text reads better than white on `c`.
pub(crate) fn is_light(c: RGBColor) -> bool {
    let RGBColor(r, g, b) = c;
    0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b) > 140.0
}

fn interpolate(stops: &[(f64, f64, f64)], t: f64) -> RGBColor {
    let x = clamp01(t) * (stops.len() - 1) as f64;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// NaN maps to 0 so a bad value shows as the low colour instead of panicking.
pub(crate) fn clamp01(t: f64) -> f64 {
    if t.is_nan() {
        0.0
    } else {
        t.clamp(0.0, 1.0)
    }
}
