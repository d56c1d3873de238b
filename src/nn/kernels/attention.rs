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
//! as the attention weights. Limits: `P` for all pairs is held in memory (`B·H·T²`), as in
//! the generic path.

use super::conv::add_into;
use super::{contiguous, cpu_grads, gemm, grad_mut, tensor, values};
use crate::nn::attention::WithWeights;
use crate::nn::{Dyn2, Dyn4, Real};
use dfdx::prelude::*;
use rayon::prelude::*;

/// `softmax(Q Kᵀ / √d + mask) V` for `(B, H, T, d)` tensors; the mask is `(B, T_k)`.
pub(crate) fn attention<E: Real, D: Device<E>, T: Tape<E, D>>(
    q: Tensor<Dyn4, E, D, T>,
    k: Tensor<Dyn4, E, D, T>,
    v: Tensor<Dyn4, E, D, T>,
    mask: Option<&Tensor<Dyn2, E, D>>,
) -> WithWeights<Dyn4, E, D, T> {
    let (q, tq) = contiguous(q).split_tape();
    let (k, tk) = contiguous(k).split_tape();
    let (v, tv) = contiguous(v).split_tape();
    let mut tape = tq.merge(tk).merge(tv);
    let (b, heads, tq_len, d) = *q.shape();
    let tk_len = k.shape().2;
    let scale = E::from_f64(1.0 / (d as f64).sqrt()).unwrap();
    let (qv, kv, vv) = (values(&q), values(&k), values(&v));
    let mask = mask.map(values);

    let (q_blk, k_blk, p_blk) = (tq_len * d, tk_len * d, tq_len * tk_len);
    let mut p = vec![E::zero(); b * heads * p_blk];
    let mut o = vec![E::zero(); b * heads * q_blk];
    p.par_chunks_mut(p_blk)
        .zip(o.par_chunks_mut(q_blk))
        .enumerate()
        .for_each(|(pair, (p_bh, o_bh))| {
            let (q_bh, k_bh) = (&qv[pair * q_blk..][..q_blk], &kv[pair * k_blk..][..k_blk]);
            let v_bh = &vv[pair * k_blk..][..k_blk];
            gemm((tq_len, d, tk_len), p_bh, false, q_bh, (d, 1), k_bh, (1, d)); // (T,d) x (d,T)
            let mask_b = mask.as_ref().map(|m| &m[(pair / heads) * tk_len..][..tk_len]);
            for row in p_bh.chunks_mut(tk_len) {
                match mask_b {
                    Some(m) => row.iter_mut().zip(m).for_each(|(s, &m)| *s = *s * scale + m),
                    None => row.iter_mut().for_each(|s| *s = *s * scale),
                }
                // softmax with the row max subtracted, so exp never overflows
                let max = row.iter().fold(E::neg_infinity(), |a, &s| a.max(s));
                let mut sum = E::zero();
                for s in row.iter_mut() {
                    *s = (*s - max).k_exp();
                    sum = sum + *s;
                }
                let inv = E::one() / sum;
                row.iter_mut().for_each(|s| *s = *s * inv);
            }
            gemm((tq_len, tk_len, d), o_bh, false, p_bh, (tk_len, 1), v_bh, (d, 1)); // (T,T) x (T,d)
        });
    let out: Tensor<Dyn4, E, D> = tensor(o, (b, heads, tq_len, d));
    let weights: Tensor<Dyn4, E, D> = tensor(p.clone(), (b, heads, tq_len, tk_len));

    if T::OWNS_TAPE {
        let out_id = out.clone();
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let d_o = grad_mut(grads, &out_id).to_vec();
            // Per pair: dQ, dK, dV blocks computed apart, then added into the gradients.
            let mut dq = vec![E::zero(); qv.len()];
            let mut dk = vec![E::zero(); kv.len()];
            let mut dv = vec![E::zero(); vv.len()];
            dq.par_chunks_mut(q_blk)
                .zip(dk.par_chunks_mut(k_blk).zip(dv.par_chunks_mut(k_blk)))
                .enumerate()
                .for_each_init(
                    || vec![E::zero(); p_blk],
                    |ds, (pair, (dq_bh, (dk_bh, dv_bh)))| {
                        let p_bh = &p[pair * p_blk..][..p_blk];
                        let do_bh = &d_o[pair * q_blk..][..q_blk];
                        let (q_bh, k_bh) = (&qv[pair * q_blk..][..q_blk], &kv[pair * k_blk..][..k_blk]);
                        let v_bh = &vv[pair * k_blk..][..k_blk];
                        gemm((tk_len, tq_len, d), dv_bh, false, p_bh, (1, tk_len), do_bh, (d, 1)); // dV = Pᵀ dO
                        gemm((tq_len, d, tk_len), ds, false, do_bh, (d, 1), v_bh, (1, d)); // dP = dO Vᵀ
                        for (ds_row, p_row) in ds.chunks_mut(tk_len).zip(p_bh.chunks(tk_len)) {
                            let dot = ds_row.iter().zip(p_row).fold(E::zero(), |a, (&g, &pv)| a + g * pv);
                            for (g, &pv) in ds_row.iter_mut().zip(p_row) {
                                *g = pv * (*g - dot) * scale; // dS · s, the softmax's backward
                            }
                        }
                        gemm((tq_len, tk_len, d), dq_bh, false, ds, (tk_len, 1), k_bh, (d, 1)); // dQ = dS K s
                        gemm((tk_len, tq_len, d), dk_bh, false, ds, (1, tk_len), q_bh, (d, 1)); // dK = dSᵀ Q s
                    },
                );
            add_into(grad_mut(grads, &q), &dq);
            add_into(grad_mut(grads, &k), &dk);
            add_into(grad_mut(grads, &v), &dv);
            Ok(())
        });
    }
    (out.put_tape(tape), weights)
}
