//! `exp`, `tanh` and the logistic `σ` for the kernels' inner loops, written so the compiler
//! can vectorise a loop of them (no calls into libm, no branches).
//!
//! In the recurrent layers these run once per unit, gate and step (≈2 million calls per LSTM
//! training step) and libm's scalar `expf`/`tanhf` were 40 % of the step. For `f32`, `exp` is
//! the classic Cody–Waite reduction `x = n·ln 2 + r` with a degree-6 polynomial for `e^r`
//! (relative error ≈ 2·10⁻⁷, i.e. f32 rounding), and `2ⁿ` built in the exponent bits. `f64`
//! keeps the exact library functions: it is the precision the gradient tests run in.
//! Limits: inputs are clamped to [−87.3, 88.3] before `exp` (the f32 range), so `exp` never
//! returns ∞ or a denormal; `tanh` and `σ` saturate cleanly from there.

/// `e^x` for f32, vectorisable.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so n·LN2_HI is exact for |n| < 2⁹.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer without a rounding instruction.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.3);
    let t = x * LOG2E + ROUND; // 1.5·2²³ + n: n sits in the low mantissa bits
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0; // e^r for |r| ≤ ln 2 / 2
                                   // 2ⁿ from t's bits: integer ops only (a float→int conversion would block vectorising).
    let two_n = f32::from_bits(t.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127) << 23);
    e_r * two_n
}

/// The element types the kernels compute in, with their fastest accurate `exp`, `tanh`, `σ`.
pub trait KernelMath: num_traits::Float {
    fn k_exp(self) -> Self;

    /// `tanh x = sign(x) · (1 − e^{−2|x|}) / (1 + e^{−2|x|})`: no overflow, no cancellation for large |x|.
    #[inline(always)]
    fn k_tanh(self) -> Self {
        let t = (self.abs() * Self::from(-2.0).unwrap()).k_exp();
        ((Self::one() - t) / (Self::one() + t)).copysign(self)
    }

    /// `σ(x) = 1 / (1 + e^{−x})`.
    #[inline(always)]
    fn k_sigmoid(self) -> Self {
        Self::one() / (Self::one() + (-self).k_exp())
    }
}

impl KernelMath for f32 {
    #[inline(always)]
    fn k_exp(self) -> f32 {
        exp_f32(self)
    }
}

impl KernelMath for f64 {
    #[inline(always)]
    fn k_exp(self) -> f64 {
        self.exp()
    }
    #[inline(always)]
    fn k_tanh(self) -> f64 {
        self.tanh()
    }
}

/// The exact GELU, `½ x (1 + erf(x/√2))`, in f64 with erf by its Taylor series (|z| ≤ 6) or
/// ±1 beyond: accurate to 1e-15, the reference the fast GELUs are tested against.
#[cfg(test)]
pub(crate) fn gelu_f64(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let erf = if z.abs() > 6.0 {
        z.signum()
    } else {
        let (mut term, mut sum) = (z, z);
        for n in 1..200 {
            term *= -z * z / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    };
    0.5 * x * (1.0 + erf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_functions_match_libm() {
        for i in -4000..=4000 {
            let x = i as f32 * 0.025; // −100 … 100
            let (e, want) = (exp_f32(x), x.exp());
            if (-87.3..=88.3).contains(&x) {
                assert!((e - want).abs() <= 4e-7 * want, "exp({x}) = {e}, want {want}");
            }
            assert!((x.k_tanh() - x.tanh()).abs() <= 3e-7, "tanh({x})");
            let s = 1.0 / (1.0 + (-x).exp());
            assert!((x.k_sigmoid() - s).abs() <= 3e-7, "σ({x})");
        }
    }
}
