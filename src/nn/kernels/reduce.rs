//! Sums, dot products and maxima of rows, written so the compiler vectorises them.
//!
//! A plain `fold` is one chain of dependent additions: each waits out the previous one's
//! latency (4 cycles), and the compiler may not reorder float additions to break it. Here every
//! reduction keeps eight interleaved partial results, which are independent and fill one AVX
//! register (f32). The order of additions differs from a left-to-right sum, within rounding.
//! Used on short rows (softmax rows, LayerNorm rows, bias gradients), called inside `simd`.

use crate::nn::Real;

/// Eight partial results of `f` over `xs` in chunks of eight, then `rest` for the tail.
#[inline(always)]
fn lanes<E: Real, const N: usize>(
    xs: [&[E]; N],
    init: E,
    step: impl Fn(E, [E; N]) -> E,
    merge: impl Fn(E, E) -> E,
) -> E {
    let len = xs.iter().map(|x| x.len()).min().unwrap_or(0);
    let full = len / 8 * 8;
    let mut acc = [init; 8];
    for base in (0..full).step_by(8) {
        let chunks = xs.map(|x| &x[base..base + 8]);
        for (j, a) in acc.iter_mut().enumerate() {
            *a = step(*a, chunks.map(|c| c[j]));
        }
    }
    let mut out = acc.into_iter().fold(init, &merge);
    for i in full..len {
        out = step(out, xs.map(|x| x[i]));
    }
    out
}

/// `Σ row`.
#[inline(always)]
pub(crate) fn sum<E: Real>(row: &[E]) -> E {
    lanes([row], E::zero(), |a, [v]| a + v, |a, b| a + b)
}

/// `Σ a_i b_i`.
#[inline(always)]
pub(crate) fn dot<E: Real>(a: &[E], b: &[E]) -> E {
    lanes([a, b], E::zero(), |s, [x, y]| s + x * y, |s, t| s + t)
}

/// `Σ a_i b_i c_i`.
#[inline(always)]
pub(crate) fn dot3<E: Real>(a: &[E], b: &[E], c: &[E]) -> E {
    lanes([a, b, c], E::zero(), |s, [x, y, z]| s + x * y * z, |s, t| s + t)
}

/// `max row` (−∞ for an empty row).
#[inline(always)]
pub(crate) fn max<E: Real>(row: &[E]) -> E {
    lanes([row], E::neg_infinity(), |m, [v]| m.max(v), |m, n| m.max(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_match_plain_loops() {
        // Lengths around the lane count, so both the chunks and the tail are exercised.
        for n in [0, 1, 7, 8, 9, 16, 23, 64] {
            let a: Vec<f64> = (0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.25).collect();
            let b: Vec<f64> = (0..n).map(|i| ((i * 13 % 7) as f64 - 3.0) * 0.5).collect();
            let c: Vec<f64> = (0..n).map(|i| (i % 5) as f64 - 1.5).collect();
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * (1.0 + y.abs());
            assert!(close(sum(&a), a.iter().sum()), "sum, n = {n}");
            let want: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!(close(dot(&a, &b), want), "dot, n = {n}");
            let want: f64 = (0..n).map(|i| a[i] * b[i] * c[i]).sum();
            assert!(close(dot3(&a, &b, &c), want), "dot3, n = {n}");
            assert_eq!(
                max(&a),
                a.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                "max, n = {n}"
            );
        }
    }
}
