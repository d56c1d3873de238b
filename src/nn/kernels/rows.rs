//! Dense and LayerNorm on the CPU: layers that act on the last axis, row by row.
//!
//! Both see their input as `rows × features` (every leading axis folded into rows), so one
//! kernel serves `(batch, features)` and `(batch, steps, features)`.
//!
//! ```text
//! Dense:      Y = X Wᵀ + b          dX += dY W,   dW += dYᵀ X,   db += Σ_rows dY
//! LayerNorm:  x̂ = (x − μ)·r, r = 1/√(σ² + ε),  y = x̂ ⊙ γ + β
//!             dγ += Σ dy ⊙ x̂,  dβ += Σ dy,  dx += r · (g − mean(g) − x̂ · mean(g ⊙ x̂)),  g = dy ⊙ γ
//! ```
//!
//! dfdx's generic versions spend most of their time broadcasting `b`, `γ`, `β` to full size
//! and summing them back in the backward; here they are folded into the loops and GEMMs.
//! Limits: rows are independent, so the LayerNorm loops split rows over rayon's workers;
//! the Dense GEMMs are threaded inside `gemm`.

use super::reduce;
use super::{add_into, contiguous, cpu_grads, grad_mut, matmul, put_grad, simd, take_grad, tensor, values};
use super::{Mat, MatMut, Threads, Write};
use crate::nn::{Dyn1, Dyn2, Real};
use dfdx::prelude::*;
use rayon::prelude::*;

/// `y = x Wᵀ + b` over the last axis of `x`, `W` `(units, inputs)`; `out` is `x`'s shape with
/// the last axis `units`.
pub(crate) fn dense<S: Shape, E: Real, D: Device<E>, T: Tape<E, D>>(
    x: Tensor<S, E, D, T>,
    weight: &Tensor<Dyn2, E, D>,
    bias: &Tensor<Dyn1, E, D>,
    out: S,
) -> Tensor<S, E, D, T> {
    let (x, mut tape) = contiguous(x).split_tape();
    let (xv, wv, bv) = (values(&x), values(weight), values(bias));
    let y: Tensor<S, E, D> = tensor(&x, affine(&xv, &wv, &bv), out);

    if T::OWNS_TAPE {
        let (weight, bias, y_id) = (weight.clone(), bias.clone(), y.clone());
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let dy = take_grad(grads, &y_id);
            let units = bias.shape().0;
            let (dw, db) = affine_backward(&dy, &xv, &wv, units, grad_mut(grads, &x));
            add_into(grad_mut(grads, &weight), &dw);
            add_into(grad_mut(grads, &bias), &db);
            put_grad(grads, &y_id, dy);
            Ok(())
        });
    }
    y.put_tape(tape)
}

/// `Y = X Wᵀ + b` on buffers: `x` is `rows × inputs` row-major, `W` `(units, inputs)`, `b` `(units,)`.
pub(crate) fn affine<E: Real>(x: &[E], w: &[E], b: &[E]) -> Vec<E> {
    let units = b.len();
    let inputs = w.len() / units;
    let rows = x.len() / inputs;
    let mut y = b.repeat(rows); // start from b in every row (copied in doubling blocks), then add X Wᵀ
    let (x, w) = (Mat::new(x, rows, inputs), Mat::new(w, units, inputs));
    matmul(
        MatMut::new(&mut y, rows, units),
        Write::Add,
        x,
        w.t(),
        Threads::Pool,
    ); // Y += X Wᵀ
    y
}

/// The backward of [`affine`] with `units` outputs: `dX += dY W` into `dx`; returns
/// `dW = dYᵀ X` and `db = Σ_rows dY`.
pub(crate) fn affine_backward<E: Real>(
    dy: &[E],
    x: &[E],
    w: &[E],
    units: usize,
    dx: &mut [E],
) -> (Vec<E>, Vec<E>) {
    let (rows, inputs) = (dy.len() / units, w.len() / units);
    // dW and db into fresh buffers (they are small), so both GEMMs can run at once.
    let mut dw = vec![E::zero(); units * inputs];
    let mut db = vec![E::zero(); units];
    // The two GEMMs are independent and equally large (rows·units·inputs each): one
    // per worker beats splitting each over all workers in turn (half the handovers,
    // and each GEMM stays whole). With one thread, join runs them one after the other.
    // `gemm` takes ≈20 % longer for dW (its long k = rows), so db goes with dX.
    let (dy_m, w, x) = (
        Mat::new(dy, rows, units),
        Mat::new(w, units, inputs),
        Mat::new(x, rows, inputs),
    );
    rayon::join(
        || {
            matmul(
                MatMut::new(dx, rows, inputs),
                Write::Add,
                dy_m,
                w,
                Threads::Caller,
            ); // dX += dY W
            simd(
                #[inline(always)]
                || dy.chunks(units).for_each(|row| add_into(&mut db, row)), // db = Σ_rows dY
            );
        },
        || {
            matmul(
                MatMut::new(&mut dw, units, inputs),
                Write::Set,
                dy_m.t(),
                x,
                Threads::Caller,
            )
        }, // dW = dYᵀ X
    );
    (dw, db)
}

/// LayerNorm over the last axis of `x` with `γ`, `β` of that length.
pub(crate) fn layer_norm<S: Shape, E: Real, D: Device<E>, T: Tape<E, D>>(
    x: Tensor<S, E, D, T>,
    gamma: &Tensor<Dyn1, E, D>,
    beta: &Tensor<Dyn1, E, D>,
    epsilon: E,
) -> Tensor<S, E, D, T> {
    layer_norm_of_sum([x], gamma, beta, epsilon)
}

/// LayerNorm of `x_1 + … + x_N` (equal shapes): a residual connection and its norm in one
/// pass, without the sum as a tensor of its own. Each `x_i`'s gradient is the sum's.
pub(crate) fn layer_norm_of_sum<const N: usize, S: Shape, E: Real, D: Device<E>, T: Tape<E, D>>(
    xs: [Tensor<S, E, D, T>; N],
    gamma: &Tensor<Dyn1, E, D>,
    beta: &Tensor<Dyn1, E, D>,
    epsilon: E,
) -> Tensor<S, E, D, T> {
    let mut tape = T::default();
    let xs = xs.map(|x| {
        let (x, t) = contiguous(x).split_tape();
        tape = std::mem::take(&mut tape).merge(t);
        x
    });
    let shape = *xs[0].shape();
    let (gv, bv) = (values(gamma), values(beta));
    let mut sum = values(&xs[0]);
    for x in &xs[1..] {
        add_into(&mut sum, &values(x));
    }
    let norm = normalise_rows(sum, &gv, &bv, epsilon);
    let y: Tensor<S, E, D> = tensor(&xs[0], norm.y, shape);

    if T::OWNS_TAPE {
        let (gamma, beta, y_id) = (gamma.clone(), beta.clone(), y.clone());
        let (x_hat, r) = (norm.x_hat, norm.r);
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let dy = take_grad(grads, &y_id);
            if N == 1 {
                // One summand: straight into its gradient.
                normalise_rows_backward(&dy, &x_hat, &r, &gv, grad_mut(grads, &xs[0]));
            } else {
                // Several: once, then into each.
                let mut dx = vec![E::zero(); dy.len()];
                normalise_rows_backward(&dy, &x_hat, &r, &gv, &mut dx);
                for x in &xs {
                    add_into(grad_mut(grads, x), &dx);
                }
            }
            let (dgamma, dbeta) = scale_shift_gradients(&dy, &x_hat, gv.len());
            add_into(grad_mut(grads, &gamma), &dgamma);
            add_into(grad_mut(grads, &beta), &dbeta);
            put_grad(grads, &y_id, dy);
            Ok(())
        });
    }
    y.put_tape(tape)
}

/// What [`normalise_rows`] computes: `y`, and `x̂` with `r = 1/√(σ² + ε)` per row for the backward.
struct Normalised<E> {
    y: Vec<E>,
    x_hat: Vec<E>,
    r: Vec<E>,
}

/// `x̂ = (x − μ)·r`, `y = x̂ ⊙ γ + β` for every row of `x` (rows of `γ`'s length), rows in parallel.
fn normalise_rows<E: Real>(x: Vec<E>, gv: &[E], bv: &[E], epsilon: E) -> Normalised<E> {
    let f = gv.len();
    let n = E::from_usize(f).unwrap();
    let mut x_hat = x;
    let mut r = vec![E::zero(); x_hat.len() / f];
    let mut y = vec![E::zero(); x_hat.len()];
    x_hat
        .par_chunks_mut(f)
        .zip(r.par_iter_mut())
        .zip(y.par_chunks_mut(f))
        .for_each(|((row, r), y_row)| {
            simd(
                #[inline(always)]
                || {
                    let mean = reduce::sum(row) / n;
                    row.iter_mut().for_each(|v| *v -= mean);
                    let var = reduce::dot(row, row) / n;
                    *r = E::one() / (var + epsilon).sqrt();
                    for (((v, y), &g), &b) in row.iter_mut().zip(y_row).zip(gv).zip(bv) {
                        *v *= *r; // x̂
                        *y = *v * g + b; // y = x̂ ⊙ γ + β
                    }
                },
            )
        });
    Normalised { y, x_hat, r }
}

/// The backward of [`normalise_rows`] into `dx`:
/// `dx += r · (g − mean(g) − x̂ · mean(g ⊙ x̂))` with `g = dy ⊙ γ`.
fn normalise_rows_backward<E: Real>(dy: &[E], x_hat: &[E], r: &[E], gv: &[E], dx: &mut [E]) {
    let f = gv.len();
    let n = E::from_usize(f).unwrap();
    dx.par_chunks_mut(f)
        .zip(dy.par_chunks(f))
        .zip(x_hat.par_chunks(f).zip(r.par_iter()))
        .for_each(|((dx_row, dy_row), (xh, &r))| {
            simd(
                #[inline(always)]
                || {
                    let mean_g = reduce::dot(dy_row, gv) / n;
                    let mean_gx = reduce::dot3(dy_row, gv, xh) / n;
                    for (((dx, &d), &g), &v) in dx_row.iter_mut().zip(dy_row).zip(gv).zip(xh) {
                        *dx += r * (d * g - mean_g - v * mean_gx);
                    }
                },
            )
        });
}

/// `dγ = Σ_rows dy ⊙ x̂` and `dβ = Σ_rows dy`, rows of length `f`.
fn scale_shift_gradients<E: Real>(dy: &[E], x_hat: &[E], f: usize) -> (Vec<E>, Vec<E>) {
    let mut dgamma = vec![E::zero(); f];
    let mut dbeta = vec![E::zero(); f];
    simd(
        #[inline(always)]
        || {
            for (dy_row, xh) in dy.chunks(f).zip(x_hat.chunks(f)) {
                for (((dg, db), &d), &v) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(dy_row).zip(xh) {
                    *dg += d * v;
                    *db += d;
                }
            }
        },
    );
    (dgamma, dbeta)
}
