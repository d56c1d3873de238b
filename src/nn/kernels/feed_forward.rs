//! The Transformer's ReLU feed-forward network on the CPU, both layers in one kernel.
//!
//! ```text
//! H = X W_1ᵀ + b_1,   A = relu(H),   Y = A W_2ᵀ + b_2
//! backward:  dA = dY W_2,  dW_2 += dYᵀ A,  db_2 += Σ dY,
//!            dH = dA ⊙ [A > 0],  dX += dH W_1,  dW_1 += dHᵀ X,  db_1 += Σ dH
//! ```
//!
//! As two `Dense` layers and dfdx's `relu`, the hidden layer `(rows, d_ff)` (the largest
//! activation of the block) is a tensor three times over: `W_1`'s output, ReLU's output and a
//! copy for `W_2`'s backward, each with a zero-filled gradient. Here it is one buffer, kept for
//! the backward, where `[A > 0]` is ReLU's derivative (`[H > 0]`, as dfdx takes it at 0).

use super::rows::{affine, affine_backward};
use super::{add_into, contiguous, cpu_grads, grad_mut, put_grad, simd, take_grad, tensor, values, zeros};
use crate::nn::{Dense, Real};
use dfdx::prelude::*;
use rayon::prelude::*;

/// Elements per parallel block of the element-wise passes (64 KiB of f32).
const BLOCK: usize = 1 << 14;

/// `relu(x W_1ᵀ + b_1) W_2ᵀ + b_2` over the last axis of `x`; `out` is `x`'s shape with the
/// last axis `W_2`'s units.
pub(crate) fn relu<S: Shape, E: Real, D: Device<E>, T: Tape<E, D>>(
    x: Tensor<S, E, D, T>,
    w_1: &Dense<E, D>,
    w_2: &Dense<E, D>,
    out: S,
) -> Tensor<S, E, D, T> {
    let (x, mut tape) = contiguous(x).split_tape();
    let (w1, b1, w2, b2) = (
        values(&w_1.weight),
        values(&w_1.bias),
        values(&w_2.weight),
        values(&w_2.bias),
    );
    let xv = values(&x);
    // H; the element-wise passes over this (rows, d_ff) buffer run in blocks over the workers.
    let mut a = affine(&xv, &w1, &b1);
    a.par_chunks_mut(BLOCK).for_each(|a| {
        simd(
            #[inline(always)]
            || a.iter_mut().for_each(|h| *h = h.max(E::zero())), // A = relu(H)
        )
    });
    let y: Tensor<S, E, D> = tensor(&x, affine(&a, &w2, &b2), out);

    if T::OWNS_TAPE {
        let (units_1, units_2) = (b1.len(), b2.len());
        let params = [w_1, w_2].map(|l| (l.weight.clone(), l.bias.clone()));
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let dy = take_grad(grads, &y_id);
            let mut dh = zeros(a.len());
            let (dw2, db2) = affine_backward(&dy, &a, &w2, units_2, &mut dh); // dA
            dh.par_chunks_mut(BLOCK)
                .zip(a.par_chunks(BLOCK))
                .for_each(|(dh, a)| {
                    simd(
                        #[inline(always)]
                        || {
                            // dH = dA ⊙ [A > 0]
                            for (g, &a) in dh.iter_mut().zip(a) {
                                *g = if a > E::zero() { *g } else { E::zero() };
                            }
                        },
                    )
                });
            let (dw1, db1) = affine_backward(&dh, &xv, &w1, units_1, grad_mut(grads, &x));
            for ((weight, bias), (dw, db)) in params.iter().zip([(dw1, db1), (dw2, db2)]) {
                add_into(grad_mut(grads, weight), &dw);
                add_into(grad_mut(grads, bias), &db);
            }
            put_grad(grads, &y_id, dy);
            Ok(())
        });
    }
    y.put_tape(tape)
}
