//! Scaled dot-product attention on the CPU, one `(batch, head)` pair at a time, pairs in parallel.
//!
//! ```text
//! S = Q Kᵀ · s + mask      (T, d) x (d, T) -> (T, T),   s = 1/√d
//! P = softmax_rows(S)
//! O = P V                  (T, T) x (T, d) -> (T, d)
//! backward:  dP = dO Vᵀ,  dV += Pᵀ dO,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ += dS K · s,  dK += dSᵀ Q · s
//! ```
//!
//! dfdx's generic path materialises the scale, the mask broadcast, and the softmax's max,
//! exp, sum and division as separate full-size tensors, each with its own backward; here each
//! pair's `T×T` block stays in one scratch buffer. `P` is kept for the backward and returned
//! as the attention weights. [`multi_head`] reads the heads straight out of `(B, T, H·d)`
//! projections by stride and writes the output already concatenated, so multi-head attention
//! needs no permute copies. Limits: `P` for all pairs is held in memory (`B·H·T²`), as in the
//! generic path.

use super::conv::add_into;
use super::{contiguous, cpu_grads, gemm_strided, grad_mut, put_grad, simd, take_grad, tensor, values};
use crate::nn::attention::WithWeights;
use crate::nn::{Dyn2, Dyn3, Dyn4, Real};
use dfdx::prelude::*;
use rayon::prelude::*;

/// Where each head's `(T, d)` block lives in a flat buffer: batch item `b`, head `h`, row `i`
/// starts at `b·batch + h·head + i·row`.
#[derive(Debug, Clone, Copy)]
struct Layout {
    rows: usize,
    batch: usize,
    head: usize,
    row: usize,
}

impl Layout {
    /// `(B, H, T, d)`, heads apart.
    fn split(heads: usize, rows: usize, d: usize) -> Self {
        Layout {
            rows,
            batch: heads * rows * d,
            head: rows * d,
            row: d,
        }
    }
    /// `(B, T, H·d)`, heads side by side in each row.
    fn interleaved(heads: usize, rows: usize, d: usize) -> Self {
        Layout {
            rows,
            batch: rows * heads * d,
            head: d,
            row: heads * d,
        }
    }
}

/// `softmax(Q Kᵀ / √d + mask) V` for `(B, H, T, d)` tensors; the mask is `(B, T_k)`.
pub(crate) fn attention<E: Real, D: Device<E>, T: Tape<E, D>>(
    q: Tensor<Dyn4, E, D, T>,
    k: Tensor<Dyn4, E, D, T>,
    v: Tensor<Dyn4, E, D, T>,
    mask: Option<&Tensor<Dyn2, E, D>>,
) -> WithWeights<Dyn4, E, D, T> {
    let (_, heads, tq, d) = *q.shape();
    let tk = k.shape().2;
    let (lq, lk) = (Layout::split(heads, tq, d), Layout::split(heads, tk, d));
    let shape = *q.shape();
    fused(q, k, v, mask, (heads, d), (lq, lk), shape)
}

/// Multi-head self-attention on projections `(B, T, H·d)`: the heads are read by stride and
/// the output `(B, T, H·d)` is already the heads' concatenation.
pub(crate) fn multi_head<E: Real, D: Device<E>, T: Tape<E, D>>(
    q: Tensor<Dyn3, E, D, T>,
    k: Tensor<Dyn3, E, D, T>,
    v: Tensor<Dyn3, E, D, T>,
    heads: usize,
    mask: Option<&Tensor<Dyn2, E, D>>,
) -> WithWeights<Dyn3, E, D, T> {
    let (_, tq, dm) = *q.shape();
    let (tk, d) = (k.shape().1, dm / heads);
    let (lq, lk) = (
        Layout::interleaved(heads, tq, d),
        Layout::interleaved(heads, tk, d),
    );
    let shape = *q.shape();
    fused(q, k, v, mask, (heads, d), (lq, lk), shape)
}

/// The kernel for any [`Layout`]: `out` has `q`'s shape and layout.
fn fused<S: Shape, E: Real, D: Device<E>, T: Tape<E, D>>(
    q: Tensor<S, E, D, T>,
    k: Tensor<S, E, D, T>,
    v: Tensor<S, E, D, T>,
    mask: Option<&Tensor<Dyn2, E, D>>,
    (heads, d): (usize, usize),
    (lq, lk): (Layout, Layout),
    out_shape: S,
) -> WithWeights<S, E, D, T> {
    let (q, tq_tape) = contiguous(q).split_tape();
    let (k, tk_tape) = contiguous(k).split_tape();
    let (v, tv_tape) = contiguous(v).split_tape();
    let mut tape = tq_tape.merge(tk_tape).merge(tv_tape);
    let (tq, tk) = (lq.rows, lk.rows);
    let b = q.shape().num_elements() / lq.batch;
    let scale = E::from_f64(1.0 / (d as f64).sqrt()).unwrap();
    let (qv, kv, vv) = (values(&q), values(&k), values(&v));
    let mask = mask.map(values);

    let p_blk = tq * tk;
    let mut p = vec![E::zero(); b * heads * p_blk];
    let mut o = vec![E::zero(); qv.len()];
    p.par_chunks_mut(heads * p_blk)
        .zip(o.par_chunks_mut(lq.batch))
        .enumerate()
        .for_each(|(bi, (p_b, o_b))| {
            simd(
                #[inline(always)]
                || {
                    let (q_b, k_b, v_b) = (&qv[bi * lq.batch..], &kv[bi * lk.batch..], &vv[bi * lk.batch..]);
                    let mask_b = mask.as_ref().map(|m| &m[bi * tk..][..tk]);
                    for h in 0..heads {
                        let p_bh = &mut p_b[h * p_blk..][..p_blk];
                        let (q_bh, k_bh, v_bh) =
                            (&q_b[h * lq.head..], &k_b[h * lk.head..], &v_b[h * lk.head..]);
                        gemm_strided(
                            (tq, d, tk),
                            p_bh,
                            tk,
                            false,
                            q_bh,
                            (lq.row, 1),
                            k_bh,
                            (1, lk.row),
                            false,
                        ); // Q Kᵀ
                        for row in p_bh.chunks_mut(tk) {
                            match mask_b {
                                Some(m) => row.iter_mut().zip(m).for_each(|(s, &m)| *s = *s * scale + m),
                                None => row.iter_mut().for_each(|s| *s *= scale),
                            }
                            // softmax with the row max subtracted, so exp never overflows
                            let max = row.iter().fold(E::neg_infinity(), |a, &s| a.max(s));
                            row.iter_mut().for_each(|s| *s = (*s - max).k_exp());
                            let inv = E::one() / row.iter().fold(E::zero(), |a, &s| a + s);
                            row.iter_mut().for_each(|s| *s *= inv);
                        }
                        let o_bh = &mut o_b[h * lq.head..];
                        gemm_strided(
                            (tq, tk, d),
                            o_bh,
                            lq.row,
                            false,
                            p_bh,
                            (tk, 1),
                            v_bh,
                            (lk.row, 1),
                            false,
                        ); // P V
                    }
                },
            )
        });
    let out: Tensor<S, E, D> = tensor(&q, o, out_shape);
    let weights: Tensor<Dyn4, E, D> = tensor(&q, p.clone(), (b, heads, tq, tk));

    if T::OWNS_TAPE {
        let out_id = out.clone();
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let d_o = take_grad(grads, &out_id);
            // Per batch item: dQ, dK, dV blocks computed apart, then added into the gradients.
            let mut dq = vec![E::zero(); qv.len()];
            let mut dk = vec![E::zero(); kv.len()];
            let mut dv = vec![E::zero(); vv.len()];
            dq.par_chunks_mut(lq.batch)
                .zip(dk.par_chunks_mut(lk.batch).zip(dv.par_chunks_mut(lk.batch)))
                .enumerate()
                .for_each_init(
                    || vec![E::zero(); p_blk],
                    |ds, (bi, (dq_b, (dk_b, dv_b)))| {
                        simd(
                            #[inline(always)]
                            || {
                                let (q_b, k_b, v_b) =
                                    (&qv[bi * lq.batch..], &kv[bi * lk.batch..], &vv[bi * lk.batch..]);
                                let do_b = &d_o[bi * lq.batch..];
                                for h in 0..heads {
                                    let p_bh = &p[(bi * heads + h) * p_blk..][..p_blk];
                                    let (qo, ko) = (h * lq.head, h * lk.head);
                                    let (q_bh, k_bh, v_bh, do_bh) =
                                        (&q_b[qo..], &k_b[ko..], &v_b[ko..], &do_b[qo..]);
                                    gemm_strided(
                                        (tk, tq, d),
                                        &mut dv_b[ko..],
                                        lk.row,
                                        false,
                                        p_bh,
                                        (1, tk),
                                        do_bh,
                                        (lq.row, 1),
                                        false,
                                    ); // dV = Pᵀ dO
                                    gemm_strided(
                                        (tq, d, tk),
                                        ds,
                                        tk,
                                        false,
                                        do_bh,
                                        (lq.row, 1),
                                        v_bh,
                                        (1, lk.row),
                                        false,
                                    ); // dP = dO Vᵀ
                                    for (ds_row, p_row) in ds.chunks_mut(tk).zip(p_bh.chunks(tk)) {
                                        let dot = ds_row
                                            .iter()
                                            .zip(p_row)
                                            .fold(E::zero(), |a, (&g, &pv)| a + g * pv);
                                        for (g, &pv) in ds_row.iter_mut().zip(p_row) {
                                            *g = pv * (*g - dot) * scale; // dS · s, the softmax's backward
                                        }
                                    }
                                    gemm_strided(
                                        (tq, tk, d),
                                        &mut dq_b[qo..],
                                        lq.row,
                                        false,
                                        ds,
                                        (tk, 1),
                                        k_bh,
                                        (lk.row, 1),
                                        false,
                                    ); // dQ = dS K s
                                    gemm_strided(
                                        (tk, tq, d),
                                        &mut dk_b[ko..],
                                        lk.row,
                                        false,
                                        ds,
                                        (1, tk),
                                        q_bh,
                                        (lq.row, 1),
                                        false,
                                    ); // dK = dSᵀ Q s
                                }
                            },
                        )
                    },
                );
            add_into(grad_mut(grads, &q), &dq);
            add_into(grad_mut(grads, &k), &dk);
            add_into(grad_mut(grads, &v), &dv);
            put_grad(grads, &out_id, d_o);
            Ok(())
        });
    }
    (out.put_tape(tape), weights)
}
