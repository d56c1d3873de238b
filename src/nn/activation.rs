//! Activations that dfdx lacks or gets wrong; the rest (`relu`, `tanh`, `sigmoid`) are dfdx's.
//!
//! [`gelu`] is the exact GELU `x · Φ(x) = ½ x (1 + erf(x / √2))` of BERT. dfdx 0.13's
//! `accurate_gelu` computes this value correctly, but its derivative has
//! `x · e^{−x²/2} / √π` where `x · φ(x) = x · e^{−x²/2} / √(2π)` belongs (a finite-difference
//! test caught it). We keep dfdx's forward and add a term whose value is exactly zero and
//! whose gradient cancels the error.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let x = dev.tensor_from_vec(vec![0.0, 1.0, -1.0], (3,));
//! let y = ferrolab::nn::gelu(x).as_vec();
//! // Φ(1) = 0.8413447460685429: GELU(1) = Φ(1), GELU(−1) = −(1 − Φ(1)).
//! assert_eq!(y[0], 0.0);
//! assert!((y[1] - 0.8413447460685429_f64).abs() < 1e-12);
//! assert!((y[2] + 0.15865525393145707_f64).abs() < 1e-12);
//! ```

use dfdx::prelude::*;

/// Exact GELU with a correct gradient: `½ x (1 + erf(x / √2))`, derivative `Φ(x) + x φ(x)`.
pub fn gelu<S: Shape, E: Dtype + num_traits::Float, D: Device<E>, T: Tape<E, D>>(
    x: Tensor<S, E, D, T>,
) -> Tensor<S, E, D, T> {
    let (x, tape) = x.split_tape();
    let y = x.retaped::<T>().accurate_gelu();
    // k·(e − ē) is zero in value (ē is a copy of e with no tape) and has gradient
    // −k·x·e^{−x²/2}, exactly what turns dfdx's derivative into the right one.
    let pi = std::f64::consts::PI;
    let k = E::from(1.0 / pi.sqrt() - 1.0 / (2.0 * pi).sqrt()).unwrap(); // 1/√π − 1/√(2π)
    let e = (x.retaped::<T>().square() * E::from(-0.5).unwrap()).exp();
    let e_const = e.retaped::<NoneTape>() * E::one(); // a new tensor: same values, no gradient path
    let correction = (e - e_const) * k;
    let out = y + correction;
    let (out, out_tape) = out.split_tape();
    out.put_tape(out_tape.merge(tape))
}
