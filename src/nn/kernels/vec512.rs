//! The inference path's element-wise passes, softmax and GELU, in AVX-512 intrinsics.
//!
//! Why by hand: compiled from plain loops, the row maximum ran 8 lanes wide with a NaN-checking
//! blend on every step, and `exp` and GELU's division as scalar-speed chains; these passes took
//! a sixth of a sentence embedding. Here `exp` is Cody–Waite range reduction, a degree-6
//! polynomial and `vscalefps` for the power of two, with every step fused.

use core::arch::x86_64::*;

/// Whether this CPU can run the passes here.
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// `e^x` in each lane: `x = n ln 2 + r`, `|r| ≤ ln 2 / 2`, `e^x = 2ⁿ e^r`; relative error about
/// 2·10⁻⁷. Below about −104 it gives 0, as `e^x` rounds to in f32.
#[inline]
#[target_feature(enable = "avx512f")]
fn exp(x: __m512) -> __m512 {
    // ln 2 split in two, so n·LN2_HI is exact for |n| < 2⁹.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = _mm512_min_ps(x, _mm512_set1_ps(88.3));
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm512_mul_ps(
        x,
        _mm512_set1_ps(std::f32::consts::LOG2_E),
    ));
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    let mut p = _mm512_set1_ps(1.987_569_1e-4);
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let e_r = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0)));
    _mm512_scalef_ps(e_r, n)
}

/// The mask of a register's first `len` lanes (all 16 from 16 on).
fn lanes(len: usize) -> __mmask16 {
    if len >= 16 {
        0xffff
    } else {
        (1u16 << len) - 1
    }
}

/// Each `s`-wide row of `block` ← `softmax(row · scale + mask)`, the row's maximum subtracted
/// so `exp` never overflows.
///
/// Rows go four at a time: one row alone is a chain of dependent steps (its maximum, then
/// the exponentials and their sum, then the division), so the core waits on latencies; four
/// interleaved chains keep it busier (0.40 → 0.29 ns an element on 128-wide rows).
///
/// # Safety
/// avx512f is present ([`available`]); `mask` holds `s` values.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn softmax_rows(block: &mut [f32], s: usize, scale: f32, mask: &[f32]) {
    assert!(s > 0 && mask.len() >= s && block.len().is_multiple_of(s));
    let mut groups = block.chunks_exact_mut(4 * s);
    for group in &mut groups {
        // SAFETY: the group holds 4 rows of s values; mask holds s; avx512f is present.
        unsafe { softmax_group::<4>(group.as_mut_ptr(), s, scale, mask.as_ptr()) };
    }
    for row in groups.into_remainder().chunks_exact_mut(s) {
        // SAFETY: as above, one row.
        unsafe { softmax_group::<1>(row.as_mut_ptr(), s, scale, mask.as_ptr()) };
    }
}

/// [`softmax_rows`] on the `R` rows of `s` values from `p`.
///
/// # Safety
/// avx512f is present; `p` holds `R·s` values and `m` `s`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_group<const R: usize>(p: *mut f32, s: usize, scale: f32, m: *const f32) {
    let scale = _mm512_set1_ps(scale);
    let mut max = [_mm512_set1_ps(f32::NEG_INFINITY); R];
    // SAFETY (all three passes): lanes at or past `s` are masked off, so every access is inside
    // the R rows and the mask.
    unsafe {
        for i in (0..s).step_by(16) {
            let k = lanes(s - i);
            let add = _mm512_maskz_loadu_ps(k, m.add(i));
            for (r, max) in max.iter_mut().enumerate() {
                let at = p.add(r * s + i);
                let x = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, at), scale, add);
                _mm512_mask_storeu_ps(at, k, x);
                *max = _mm512_mask_max_ps(*max, k, *max, x);
            }
        }
        let max = max.map(|v| _mm512_set1_ps(_mm512_reduce_max_ps(v)));
        let mut sum = [_mm512_setzero_ps(); R];
        for i in (0..s).step_by(16) {
            let k = lanes(s - i);
            for (r, sum) in sum.iter_mut().enumerate() {
                let at = p.add(r * s + i);
                let e = exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, at), max[r]));
                _mm512_mask_storeu_ps(at, k, e);
                *sum = _mm512_mask_add_ps(*sum, k, *sum, e);
            }
        }
        let inv = sum.map(|v| _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(v)));
        for i in (0..s).step_by(16) {
            let k = lanes(s - i);
            for (r, inv) in inv.iter().enumerate() {
                let at = p.add(r * s + i);
                _mm512_mask_storeu_ps(at, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, at), *inv));
            }
        }
    }
}

/// `v ← GELU(v) = ½ v (1 + erf(v/√2))` in place, erf from Abramowitz & Stegun 7.1.26
/// (absolute error ≤ 1.5·10⁻⁷), its reciprocal from `vrcp14ps` and one Newton step.
///
/// # Safety
/// avx512f is present ([`available`]).
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn gelu(values: &mut [f32]) {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_7, -1.453_152_1, 1.061_405_4];
    let (n, p) = (values.len(), values.as_mut_ptr());
    let sign = _mm512_set1_epi32(i32::MIN);
    let one = _mm512_set1_ps(1.0);
    for i in (0..n).step_by(16) {
        let k = lanes(n - i);
        // SAFETY: lanes at or past `n` are masked off.
        let v = unsafe { _mm512_maskz_loadu_ps(k, p.add(i)) };
        let z = _mm512_mul_ps(v, _mm512_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
        let a = _mm512_abs_ps(z);
        // t = 1 / (1 + P a): the estimate's 2⁻¹⁴ error squared by one Newton step.
        let d = _mm512_fmadd_ps(a, _mm512_set1_ps(P), one);
        let y = _mm512_rcp14_ps(d);
        let t = _mm512_fmadd_ps(y, _mm512_fnmadd_ps(d, y, one), y);
        let mut poly = _mm512_set1_ps(A[4]);
        for c in [A[3], A[2], A[1], A[0]] {
            poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(c));
        }
        poly = _mm512_mul_ps(poly, t);
        let e = exp(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), a), a));
        let erf_abs = _mm512_fnmadd_ps(poly, e, one); // 1 − poly·e^{−a²} ≥ 0
        let z_sign = _mm512_and_epi32(_mm512_castps_si512(z), sign);
        let erf = _mm512_castsi512_ps(_mm512_or_epi32(_mm512_castps_si512(erf_abs), z_sign));
        let g = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5), v), _mm512_add_ps(one, erf));
        // SAFETY: as the load.
        unsafe { _mm512_mask_storeu_ps(p.add(i), k, g) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::math::gelu_f64;

    #[test]
    fn gelu_matches_the_exact_formula() {
        if !available() {
            return;
        }
        // 12,001 points: the last register is partly masked, so the tail is exercised too.
        let xs: Vec<f32> = (-6000..=6000).map(|i| i as f32 / 1000.0).collect();
        let mut g = xs.clone();
        // SAFETY: avx512f was detected.
        unsafe { gelu(&mut g) };
        for (&x, &g) in xs.iter().zip(&g) {
            let exact = gelu_f64(x as f64);
            assert!(
                (g as f64 - exact).abs() < 5e-7,
                "GELU({x}) = {g}, exactly {exact}"
            );
        }
        let mut big = [-30.0f32, 30.0, 0.0];
        // SAFETY: as above.
        unsafe { gelu(&mut big) };
        assert_eq!(big, [0.0, 30.0, 0.0]);
    }

    #[test]
    fn softmax_matches_the_formula_with_a_mask() {
        if !available() {
            return;
        }
        // Widths around the register; 7 rows, so groups of four and the single rows both run.
        for n in [1usize, 5, 16, 17, 128, 131] {
            let rows = 7;
            let block: Vec<f32> = (0..rows * n)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.7)
                .collect();
            // The last third masked out, as padding is.
            let mask: Vec<f32> = (0..n)
                .map(|i| if n > 2 && i >= n - n / 3 { -10000.0 } else { 0.0 })
                .collect();
            let scale = 0.35f32;
            let mut got = block.clone();
            // SAFETY: avx512f was detected; mask is as long as a row.
            unsafe { softmax_rows(&mut got, n, scale, &mask) };
            for (r, (row, got)) in block.chunks(n).zip(got.chunks(n)).enumerate() {
                let z: Vec<f64> = row
                    .iter()
                    .zip(&mask)
                    .map(|(&x, &m)| x as f64 * scale as f64 + m as f64)
                    .collect();
                let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = z.iter().map(|v| (v - max).exp()).sum();
                for (i, (&g, v)) in got.iter().zip(&z).enumerate() {
                    let want = (v - max).exp() / total;
                    assert!(
                        (g as f64 - want).abs() < 1e-6 * (1.0 + want),
                        "n={n} [{r}][{i}]: {g} vs {want}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod speed {
    /// Nanoseconds per element of a 128×128 block's softmax, run by hand:
    /// `cargo test --release --lib vec512::speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, run by hand"]
    fn softmax_rows_per_second() {
        if !super::available() {
            return;
        }
        let s = 128;
        let mut scores: Vec<f32> = (0..s * s).map(|i| (i % 97) as f32 * 0.01).collect();
        let mask = vec![0.0f32; s];
        let reps = 2000;
        let t = std::time::Instant::now();
        for _ in 0..reps {
            // SAFETY: avx512f is present (checked above); the mask is s long.
            unsafe { super::softmax_rows(&mut scores, s, 0.17, &mask) };
        }
        let e = t.elapsed().as_secs_f64();
        println!("softmax: {:.3} ns per element", e / (reps * s * s) as f64 * 1e9);
    }
}
