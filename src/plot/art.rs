//! Terminal text art: braille line canvases, shade-block heatmaps and width fitting.
//!
//! Output is plain Unicode with no ANSI colours, so it reads the same in a Jupyter
//! `text/plain` view, a terminal and a test. Widths count `char`s, assuming each braille
//! cell, shade block and box-drawing char takes one terminal column (true for the
//! characters used here; wide CJK text in labels may overflow visually).

/// Shades from empty to full, for values in 0..=1.
const SHADES: [char; 5] = [' ', '░', '▒', '▓', '█'];

/// Cuts every line to at most `width` chars (the last resort that keeps the promise).
pub(crate) fn fit_width(text: &str, width: usize) -> String {
    let width = width.max(1);
    text.lines()
        .map(|line| truncate(line, width).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first `n` chars of `s`, ending in `…` when cut.
pub(crate) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    if n == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    out
}

/// `s` padded with spaces (or cut) to exactly `n` chars, right-aligned if `right`.
pub(crate) fn pad(s: &str, n: usize, right: bool) -> String {
    let s = truncate(s, n);
    let fill = " ".repeat(n - s.chars().count());
    if right {
        fill + &s
    } else {
        s + &fill
    }
}

/// Joins words into lines of at most `width` chars.
pub(crate) fn wrap(words: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in words {
        let need = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if !line.is_empty() && need > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A compact label for a number: 4 significant digits, scientific when tiny or huge.
pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        return format!("{v:.2e}");
    }
    let decimals = if a >= 1000.0 {
        0
    } else if a >= 100.0 {
        1
    } else if a >= 10.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// The shade char for `t` in 0..=1.
pub(crate) fn shade(t: f64) -> char {
    let t = super::color::clamp01(t);
    SHADES[((t * (SHADES.len() - 1) as f64).round() as usize).min(SHADES.len() - 1)]
}

/// Box-averages (or nearest-samples, when growing) a row-major `rows`×`cols` grid to
/// `out_rows`×`out_cols`.
pub(crate) fn resample(
    data: &[f64],
    (rows, cols): (usize, usize),
    (out_rows, out_cols): (usize, usize),
) -> Vec<f64> {
    let mut out = Vec::with_capacity(out_rows * out_cols);
    for r in 0..out_rows {
        let (r0, r1) = span(r, out_rows, rows);
        for c in 0..out_cols {
            let (c0, c1) = span(c, out_cols, cols);
            let mut sum = 0.0;
            for rr in r0..r1 {
                for cc in c0..c1 {
                    sum += data[rr * cols + cc];
                }
            }
            out.push(sum / ((r1 - r0) * (c1 - c0)) as f64);
        }
    }
    out
}

/// Source index range `[a, b)` covered by output cell `i` of `n_out` over `n_in` (never empty).
fn span(i: usize, n_out: usize, n_in: usize) -> (usize, usize) {
    let a = i * n_in / n_out;
    let b = ((i + 1) * n_in / n_out).max(a + 1).min(n_in);
    (a.min(n_in - 1), b)
}

/// Shade-block rendering of a grid already scaled to 0..=1, one char per cell.
pub(crate) fn shade_rows(data: &[f64], rows: usize, cols: usize) -> Vec<String> {
    (0..rows)
        .map(|r| data[r * cols..(r + 1) * cols].iter().map(|&v| shade(v)).collect())
        .collect()
}

/// A grid of braille cells: each char holds 2×4 dots, so a `cols`×`rows` canvas has
/// `2*cols`×`4*rows` dots. Dot (0,0) is the top-left.
pub(crate) struct Braille {
    cols: usize,
    rows: usize,
    dots: Vec<u8>,
    /// A char that replaces a cell (series tags), drawn over the dots.
    tags: Vec<Option<char>>,
}

impl Braille {
    pub(crate) fn new(cols: usize, rows: usize) -> Self {
        Braille {
            cols,
            rows,
            dots: vec![0; cols * rows],
            tags: vec![None; cols * rows],
        }
    }

    pub(crate) fn dot_size(&self) -> (usize, usize) {
        (self.cols * 2, self.rows * 4)
    }

    /// Sets one dot; points outside the canvas are ignored.
    pub(crate) fn set(&mut self, x: i64, y: i64) {
        let (w, h) = self.dot_size();
        if x < 0 || y < 0 || x as usize >= w || y as usize >= h {
            return;
        }
        let (x, y) = (x as usize, y as usize);
        // Unicode braille bit order: dots 1-3 and 7 down the left column, 4-6 and 8 right.
        const BITS: [[u8; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        self.dots[(y / 4) * self.cols + x / 2] |= BITS[x % 2][y % 4];
    }

    /// Draws a straight line between two dots.
    pub(crate) fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64)) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        for s in 0..=steps {
            let x = x0 + (x1 - x0) * s / steps;
            let y = y0 + (y1 - y0) * s / steps;
            self.set(x, y);
        }
    }

    /// Puts `c` in the cell containing dot (x, y).
    pub(crate) fn tag(&mut self, x: i64, y: i64, c: char) {
        let (w, h) = self.dot_size();
        if x < 0 || y < 0 || x as usize >= w || y as usize >= h {
            return;
        }
        self.tags[(y as usize / 4) * self.cols + x as usize / 2] = Some(c);
    }

    /// The canvas as `rows` strings of `cols` chars.
    pub(crate) fn rows(&self) -> Vec<String> {
        (0..self.rows)
            .map(|r| {
                (0..self.cols)
                    .map(|c| {
                        let i = r * self.cols + c;
                        match (self.tags[i], self.dots[i]) {
                            (Some(t), _) => t,
                            (None, 0) => ' ',
                            (None, bits) => char::from_u32(0x2800 + u32::from(bits)).unwrap_or(' '),
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braille_dots_map_to_unicode_bits() {
        let mut b = Braille::new(1, 1);
        b.set(0, 0);
        b.set(1, 3);
        assert_eq!(b.rows(), vec!["\u{2881}".to_string()]);
    }

    #[test]
    fn fit_width_counts_chars_not_bytes() {
        assert_eq!(fit_width("░░░░░", 3), "░░…");
        assert_eq!(fit_width("ab\n⠿⠿", 2), "ab\n⠿⠿");
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(1234.0), "1234");
        assert_eq!(fmt_num(0.0001), "1.00e-4");
        assert_eq!(fmt_num(-0.0), "0");
    }

    #[test]
    fn resample_averages_boxes() {
        let d = [0.0, 1.0, 1.0, 1.0];
        assert_eq!(resample(&d, (2, 2), (1, 1)), vec![0.75]);
        assert_eq!(resample(&d, (2, 2), (2, 2)), d.to_vec());
    }
}
