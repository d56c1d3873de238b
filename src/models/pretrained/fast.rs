//! The encoder's inference path: the same formulas as [`EncoderBlock`]'s forward, with the
//! feed-forward's GELU done in one pass over its `(batch·steps, d_ff)` values (in f32 on the
//! CPU) instead of dfdx's element-wise chain, which reads and writes them about ten times.
//!
//! The pass evaluates `½ x (1 + erf(x/√2))` with erf from Abramowitz & Stegun 7.1.26
//! (absolute error ≤ 1.5·10⁻⁷, about one f32 step near 1) and `e^x` from a degree-7
//! polynomial after range reduction; both branch-free, so the loop vectorises.

use std::any::TypeId;

use dfdx::prelude::*;
use rayon::prelude::*;

use crate::nn::{Activation, Dyn2, Dyn3, EncoderBlock, FeedForward, Real};
use crate::Result;

/// One post-norm block: `x = LN(x + MHA(x)); x = LN(x + FFN(x))`, key mask added to the scores.
pub(crate) fn encoder_block<E: Real, D: Device<E>>(
    block: &EncoderBlock<E, D>,
    x: Tensor<Dyn3, E, D>,
    mask: &Tensor<Dyn2, E, D>,
) -> Result<Tensor<Dyn3, E, D>> {
    let (a, _) = block
        .attention
        .forward_maybe_weights(x.clone(), Some(mask), false)?;
    let x = block.norm_1.forward_sum(a, x)?;
    let f = feed_forward(&block.feed_forward, x.clone())?;
    block.norm_2.forward_sum(f, x)
}

fn feed_forward<E: Real, D: Device<E>>(
    ff: &FeedForward<E, D>,
    x: Tensor<Dyn3, E, D>,
) -> Result<Tensor<Dyn3, E, D>> {
    if ff.activation() != Activation::Gelu || TypeId::of::<E>() != TypeId::of::<f32>() {
        return ff.try_forward(x);
    }
    let hidden = ff.w_1.try_forward(x)?; // (B, S, D) -> (B, S, d_ff)
    let shape = *hidden.shape();
    let mut values = hidden.as_vec();
    // SAFETY: E is f32 (checked above), so the buffer holds f32 values.
    let as_f32 = unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr() as *mut f32, values.len()) };
    gelu_in_place(as_f32);
    let hidden = hidden.device().tensor_from_vec(values, shape);
    ff.w_2.try_forward(hidden) // (B, S, d_ff) -> (B, S, D)
}

/// `x ← ½ x (1 + erf(x/√2))` for every value, in parallel blocks.
pub(crate) fn gelu_in_place(values: &mut [f32]) {
    values.par_chunks_mut(1 << 14).for_each(|chunk| {
        crate::nn::kernels::simd(|| {
            for v in chunk.iter_mut() {
                *v = gelu(*v);
            }
        })
    });
}

#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Abramowitz & Stegun 7.1.26: `erf(z) = 1 − t (a₁ + t (a₂ + … a₅)) e^{−z²}`, `t = 1 / (1 + p z)`.
#[inline(always)]
fn erf(z: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_7, -1.453_152_1, 1.061_405_4];
    let a = z.abs();
    let t = 1.0 / a.mul_add(P, 1.0);
    let poly = t * A[4]
        .mul_add(t, A[3])
        .mul_add(t, A[2])
        .mul_add(t, A[1])
        .mul_add(t, A[0]);
    let r = (-poly).mul_add(exp(-a * a), 1.0);
    r.copysign(z)
}

/// `e^x`: `x = k ln 2 + r` with `|r| ≤ ln 2 / 2`, `e^r` by its Taylor polynomial to `r⁷`
/// (relative error below 10⁻⁸), times `2^k` built in the exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Round to nearest by adding and subtracting 1.5·2²³ (no branch, no library call).
    const SHIFT: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let k = (x * std::f32::consts::LOG2_E + SHIFT) - SHIFT;
    let r = k.mul_add(-LN2_LO, k.mul_add(-LN2_HI, x));
    let c: [f32; 8] = [
        1.0 / 5040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let mut p = c[0];
    for &ci in &c[1..] {
        p = p.mul_add(r, ci);
    }
    p * f32::from_bits(((k as i32 + 127) << 23) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Taylor series in f64 (|z| ≤ 3) or 1 beyond: accurate to 1e-15 where used.
    fn erf_f64(z: f64) -> f64 {
        if z.abs() > 6.0 {
            return z.signum();
        }
        let mut term = z;
        let mut sum = z;
        for n in 1..200 {
            term *= -z * z / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn gelu_matches_the_exact_formula() {
        let mut worst: f64 = 0.0;
        for i in -6000..=6000 {
            let x = i as f32 / 1000.0;
            let exact = 0.5 * x as f64 * (1.0 + erf_f64(x as f64 / std::f64::consts::SQRT_2));
            worst = worst.max((gelu(x) as f64 - exact).abs());
        }
        assert!(worst < 5e-7, "worst absolute error {worst}");
        let mut v = vec![-30.0, -1.0, 0.0, 1.0, 30.0];
        gelu_in_place(&mut v);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[2], 0.0);
        assert_eq!(v[4], 30.0);
        assert!((v[3] - 0.841_344_7).abs() < 3e-7 && (v[1] + 0.158_655_25).abs() < 3e-7);
    }

    #[test]
    fn exp_is_accurate() {
        for i in -870..=880 {
            let x = i as f32 / 10.0;
            let rel = ((exp(x) as f64) / (x as f64).exp() - 1.0).abs();
            assert!(rel < 1e-6, "exp({x}): relative error {rel}");
        }
    }
}
