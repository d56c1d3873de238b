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
//! pair's `T×T` block stays in one scratch buffer. `P` is kept for the backward and copied out
//! as the attention weights only when the caller asks for them.
//!
//! Q, K and V live in one buffer, each read by stride ([`Layout`]). [`self_attention`] computes
//! that buffer as one GEMM, `[Q K V] = X [W_Q; W_K; W_V]ᵀ + [b_Q b_K b_V]` (`(B·T, 3·D)`, the
//! heads side by side in each row), and writes the output already concatenated `(B, T, D)`,
//! so multi-head attention needs no split or concatenation copies, and its backward is one
//! `dX` GEMM and one `dW` GEMM for the three projections. [`attention`] packs separate
//! `(B, H, T, d)` tensors into the same kind of buffer. Limits: `P` for all pairs is held in
//! memory (`B·H·T²`), as in the generic path.

use super::reduce;
use super::rows::{affine, affine_backward};
use super::{
    add_into, contiguous, cpu_grads, grad_mut, matmul, put_grad, simd, take_grad, tensor, values, zeros,
};
use super::{Mat, MatMut, Threads, Write};
use crate::nn::{Dense, Dyn2, Dyn3, Dyn4, Real};
use dfdx::prelude::*;
use rayon::prelude::*;

/// Where one operand's `(T, d)` head blocks lie in a flat buffer: batch item `b`, head `h`,
/// row `i` starts at `b·batch + off + h·head + i·row`.
#[derive(Debug, Clone, Copy)]
struct Layout {
    rows: usize,
    batch: usize,
    off: usize,
    head: usize,
    row: usize,
}

impl Layout {
    /// Where head `h`'s block starts within a batch item.
    fn head_start(&self, h: usize) -> usize {
        self.off + h * self.head
    }

    /// Head `h`'s `(rows, d)` block of one batch item's buffer `src`.
    fn head<'a, E>(&self, src: &'a [E], h: usize, d: usize) -> Mat<'a, E> {
        Mat::new(&src[self.head_start(h)..], self.rows, d).row_stride(self.row)
    }

    /// Head `h`'s `(rows, d)` block of one batch item's buffer `dst`, to write.
    fn head_mut<'a, E>(&self, dst: &'a mut [E], h: usize, d: usize) -> MatMut<'a, E> {
        MatMut::new(&mut dst[self.head_start(h)..], self.rows, d).row_stride(self.row)
    }
}

/// Q, K and V in one buffer with a common batch stride, and the output's layout in its own.
#[derive(Debug, Clone, Copy)]
struct Blocks {
    heads: usize,
    d: usize,
    q: Layout,
    k: Layout,
    v: Layout,
    out: Layout,
}

impl Blocks {
    /// The scores' scale `1/√d` (each head's width `d`), shared by forward and backward.
    fn scale<E: Real>(&self) -> E {
        E::from_f64(1.0 / (self.d as f64).sqrt()).unwrap()
    }

    /// Values in one head's weights block, `T_q · T_k`.
    fn weights_block(&self) -> usize {
        self.q.rows * self.k.rows
    }
}

/// An attention output (with its tape) and the attention weights `(batch, heads, steps_q, steps_k)`.
pub type WithWeights<S, E, D, T> = (Tensor<S, E, D, T>, Tensor<Dyn4, E, D>);

/// An attention output (with its tape) and, when asked for, the weights.
pub(crate) type MaybeWeights<S, E, D, T> = (Tensor<S, E, D, T>, Option<Tensor<Dyn4, E, D>>);

/// `softmax(Q Kᵀ / √d + mask) V` for `(B, H, T, d)` tensors; the mask is `(B, T_k)`.
pub(crate) fn attention<E: Real, D: Device<E>, T: Tape<E, D>>(
    q: Tensor<Dyn4, E, D, T>,
    k: Tensor<Dyn4, E, D, T>,
    v: Tensor<Dyn4, E, D, T>,
    mask: Option<&Tensor<Dyn2, E, D>>,
) -> WithWeights<Dyn4, E, D, T> {
    let (q, tq_tape) = contiguous(q).split_tape();
    let (k, tk_tape) = contiguous(k).split_tape();
    let (v, tv_tape) = contiguous(v).split_tape();
    let mut tape = tq_tape.merge(tk_tape).merge(tv_tape);
    let (b, heads, tq, d) = *q.shape();
    let tk = k.shape().2;
    // Per batch item: [Q_b | K_b | V_b], each (H, T, d).
    let (nq, nk) = (heads * tq * d, heads * tk * d);
    let split = |rows, off| Layout {
        rows,
        batch: nq + 2 * nk,
        off,
        head: rows * d,
        row: d,
    };
    let blocks = Blocks {
        heads,
        d,
        q: split(tq, 0),
        k: split(tk, nq),
        v: split(tk, nq + nk),
        out: Layout {
            batch: nq,
            ..split(tq, 0)
        },
    };
    let (qv, kv, vv) = (values(&q), values(&k), values(&v));
    let mut qkv = Vec::with_capacity(b * (nq + 2 * nk));
    for bi in 0..b {
        qkv.extend_from_slice(&qv[bi * nq..][..nq]);
        qkv.extend_from_slice(&kv[bi * nk..][..nk]);
        qkv.extend_from_slice(&vv[bi * nk..][..nk]);
    }
    let mask = mask.map(values);
    let (p, o) = forward(&qkv, blocks, mask.as_deref(), b);
    let out: Tensor<Dyn4, E, D> = tensor(&q, o, *q.shape());
    let weights: Tensor<Dyn4, E, D> = tensor(&q, p.clone(), (b, heads, tq, tk));

    if T::OWNS_TAPE {
        let out_id = out.clone();
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let d_o = take_grad(grads, &out_id);
            let dqkv = backward(&qkv, blocks, &p, &d_o, b);
            for (t, off, n) in [(&q, 0, nq), (&k, nq, nk), (&v, nq + nk, nk)] {
                let g = grad_mut(grads, t);
                for (g_b, d_b) in g.chunks_mut(n).zip(dqkv.chunks(nq + 2 * nk)) {
                    add_into(g_b, &d_b[off..][..n]);
                }
            }
            put_grad(grads, &out_id, d_o);
            Ok(())
        });
    }
    (out.put_tape(tape), weights)
}

/// Multi-head self-attention of `x` `(B, T, D)` with the projections `W_Q`, `W_K`, `W_V`
/// (each `D → D`): returns the heads' outputs concatenated `(B, T, D)`, before `W_O`, and the
/// weights when `want_weights`.
pub(crate) fn self_attention<E: Real, D: Device<E>, T: Tape<E, D>>(
    x: Tensor<Dyn3, E, D, T>,
    [w_q, w_k, w_v]: [&Dense<E, D>; 3],
    heads: usize,
    mask: Option<&Tensor<Dyn2, E, D>>,
    want_weights: bool,
) -> MaybeWeights<Dyn3, E, D, T> {
    let (x, mut tape) = contiguous(x).split_tape();
    let (b, t, dm) = *x.shape();
    let d = dm / heads;
    // [W_Q; W_K; W_V] stacked by rows: (3·D, D), and its bias (3·D,).
    let dense = [w_q, w_k, w_v];
    let w = dense.map(|l| values(&l.weight)).concat();
    let bias = dense.map(|l| values(&l.bias)).concat();
    let xv = values(&x);
    let qkv = affine(&xv, &w, &bias); // (B·T, 3·D): each row is [q | k | v], heads side by side
    let interleaved = |off, row| Layout {
        rows: t,
        batch: t * row,
        off,
        head: d,
        row,
    };
    let blocks = Blocks {
        heads,
        d,
        q: interleaved(0, 3 * dm),
        k: interleaved(dm, 3 * dm),
        v: interleaved(2 * dm, 3 * dm),
        out: interleaved(0, dm),
    };
    let mask = mask.map(values);
    let (p, o) = forward(&qkv, blocks, mask.as_deref(), b);
    let out: Tensor<Dyn3, E, D> = tensor(&x, o, (b, t, dm));
    let weights = want_weights.then(|| tensor(&x, p.clone(), (b, heads, t, t)));

    if T::OWNS_TAPE {
        let params = dense.map(|l| (l.weight.clone(), l.bias.clone()));
        let out_id = out.clone();
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let d_o = take_grad(grads, &out_id);
            let dqkv = backward(&qkv, blocks, &p, &d_o, b);
            let (dw, db) = affine_backward(&dqkv, &xv, &w, 3 * dm, grad_mut(grads, &x));
            // Rows i·D .. (i+1)·D of the stacked dW and db belong to W_Q, W_K, W_V in turn.
            for ((weight, bias), (dw, db)) in params.iter().zip(dw.chunks(dm * dm).zip(db.chunks(dm))) {
                add_into(grad_mut(grads, weight), dw);
                add_into(grad_mut(grads, bias), db);
            }
            put_grad(grads, &out_id, d_o);
            Ok(())
        });
    }
    (out.put_tape(tape), weights)
}

/// The forward for every `(batch, head)` pair of `b` batch items: `P` `(B, H, T_q, T_k)` and
/// `O` in `blocks.out`'s layout.
fn forward<E: Real>(qkv: &[E], blocks: Blocks, mask: Option<&[E]>, b: usize) -> (Vec<E>, Vec<E>) {
    let Blocks {
        heads,
        d,
        q: lq,
        k: lk,
        v: lv,
        out: lo,
    } = blocks;
    let (tq, tk) = (lq.rows, lk.rows);
    let (scale, p_blk) = (blocks.scale::<E>(), blocks.weights_block());
    let mut p = zeros(b * heads * p_blk);
    let mut o = zeros(b * lo.batch);
    p.par_chunks_mut(heads * p_blk)
        .zip(o.par_chunks_mut(lo.batch))
        .enumerate()
        .for_each(|(bi, (p_b, o_b))| {
            simd(
                #[inline(always)]
                || {
                    let src = &qkv[bi * lq.batch..];
                    let mask_b = mask.map(|m| &m[bi * tk..][..tk]);
                    for h in 0..heads {
                        let p_bh = &mut p_b[h * p_blk..][..p_blk];
                        let (q, k, v) = (lq.head(src, h, d), lk.head(src, h, d), lv.head(src, h, d));
                        matmul(MatMut::new(p_bh, tq, tk), Write::Set, q, k.t(), Threads::Caller); // S = Q Kᵀ
                        for row in p_bh.chunks_mut(tk) {
                            match mask_b {
                                Some(m) => row.iter_mut().zip(m).for_each(|(s, &m)| *s = *s * scale + m),
                                None => row.iter_mut().for_each(|s| *s *= scale),
                            }
                            // softmax with the row max subtracted, so exp never overflows
                            let max = reduce::max(row);
                            row.iter_mut().for_each(|s| *s = (*s - max).k_exp());
                            let inv = E::one() / reduce::sum(row);
                            row.iter_mut().for_each(|s| *s *= inv);
                        }
                        let p_bh = Mat::new(p_bh, tq, tk);
                        matmul(lo.head_mut(o_b, h, d), Write::Set, p_bh, v, Threads::Caller);
                        // O = P V
                    }
                },
            )
        });
    (p, o)
}

/// The backward of [`forward`]: `dQ`, `dK`, `dV` in one buffer laid out like `qkv`.
fn backward<E: Real>(qkv: &[E], blocks: Blocks, p: &[E], d_o: &[E], b: usize) -> Vec<E> {
    let Blocks {
        heads,
        d,
        q: lq,
        k: lk,
        v: lv,
        out: lo,
    } = blocks;
    let (tq, tk) = (lq.rows, lk.rows);
    let (scale, p_blk) = (blocks.scale::<E>(), blocks.weights_block());
    // Every head block of dQ, dK and dV is written whole by one GEMM below.
    let mut dqkv = zeros(b * lq.batch);
    dqkv.par_chunks_mut(lq.batch).enumerate().for_each_init(
        || vec![E::zero(); p_blk],
        |ds, (bi, dst)| {
            simd(
                #[inline(always)]
                || {
                    let src = &qkv[bi * lq.batch..];
                    let do_b = &d_o[bi * lo.batch..];
                    for h in 0..heads {
                        let p_bh = &p[(bi * heads + h) * p_blk..][..p_blk];
                        let (q, k, v) = (lq.head(src, h, d), lk.head(src, h, d), lv.head(src, h, d));
                        let (p, d_o) = (Mat::new(p_bh, tq, tk), lo.head(do_b, h, d));
                        matmul(lv.head_mut(dst, h, d), Write::Set, p.t(), d_o, Threads::Caller); // dV = Pᵀ dO
                        matmul(MatMut::new(ds, tq, tk), Write::Set, d_o, v.t(), Threads::Caller); // dP = dO Vᵀ
                        for (ds_row, p_row) in ds.chunks_mut(tk).zip(p_bh.chunks(tk)) {
                            let dot = reduce::dot(ds_row, p_row);
                            for (g, &pv) in ds_row.iter_mut().zip(p_row) {
                                *g = pv * (*g - dot) * scale; // dS · s, the softmax's backward
                            }
                        }
                        let ds = Mat::new(ds, tq, tk);
                        matmul(lq.head_mut(dst, h, d), Write::Set, ds, k, Threads::Caller); // dQ = dS K s
                        matmul(lk.head_mut(dst, h, d), Write::Set, ds.t(), q, Threads::Caller);
                        // dK = dSᵀ Q s
                    }
                },
            )
        },
    );
    dqkv
}
