//! SimpleRnn and Lstm on the CPU: the gates fused into one matrix, the input projection for
//! all steps in one GEMM, one small GEMM per step, backpropagation through time by hand.
//!
//! With `G` gates of `H` units (`G = 1` for the tanh RNN, `G = 4` for the LSTM, in the order
//! i, f, g, o), the gates' `W`, `U` and `b` are stacked into `W (G·H, F)`, `U (G·H, H)` and
//! `b (G·H)`, so every gate of every step comes from
//!
//! ```text
//! Z = X Wᵀ + b                 for all B·T rows at once       (B·T, F) x (F, G·H)
//! Z_t += h_{t−1} Uᵀ            one GEMM per step              (B, H) x (H, G·H)
//! ```
//!
//! then the cell: `h_t = tanh(z_t)` (RNN), or `i, f, o = σ(·)`, `g = tanh(·)`,
//! `c_t = f ⊙ c_{t−1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)` (LSTM). The backward walks the steps
//! in reverse, keeping `dh` and `dc` for the step before and writing each step's `dZ_t` over
//! its gate values (no longer needed once read); then `dW = dZᵀ X`, `dU = dZᵀ H_prev`,
//! `db = Σ dZ` and `dX = dZ W` are four GEMMs over all steps.
//!
//! Sequences in a batch are independent, so the batch is split into one block per rayon
//! worker and each block runs all its steps alone: no synchronisation per step. Buffers are
//! laid out `(batch, step, ·)`, so a block is one contiguous slice and a step's rows are a
//! strided view. Limits: memory for all steps' gates is kept for the backward (`B·T·G·H`).

use super::conv::add_into;
use super::{contiguous, cpu_grads, gemm_strided, grad_mut, put_grad, simd, take_grad, tensor, values};
use crate::nn::rnn::{Gate, RnnResult};
use crate::nn::{Dyn2, Dyn3, Real};
use dfdx::prelude::*;
use rayon::prelude::*;

/// The layer's output before its tape goes on: every state `(B, T, H)` or the last `(B, H)`.
type Outputs<E, D> = (Option<Tensor<Dyn3, E, D>>, Option<Tensor<Dyn2, E, D>>);

/// Which cell the gates feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell {
    /// One gate: `h_t = tanh(z_t)`.
    Tanh,
    /// Four gates i, f, g, o.
    Lstm,
}

impl Cell {
    fn gates(self) -> usize {
        match self {
            Cell::Tanh => 1,
            Cell::Lstm => 4,
        }
    }
}

/// Batch rows per parallel block: one block per worker, at least one row.
fn block_rows(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// Runs the recurrent layer whose gates are `gates` (one per [`Cell::gates`]) over `x`
/// `(B, T, F)`, returning every state or the last, with the backward on the tape.
pub(crate) fn recurrent<E: Real, D: Device<E>, T: Tape<E, D>>(
    gates: &[&Gate<E, D>],
    cell: Cell,
    x: Tensor<Dyn3, E, D, T>,
    sequences: bool,
) -> RnnResult<E, D, T> {
    let (x, mut tape) = contiguous(x).split_tape();
    let (b, t_len, f) = *x.shape();
    let h = gates[0].u.shape().0;
    let g_n = cell.gates();
    let gh = g_n * h;
    debug_assert_eq!(gates.len(), g_n);

    // Stack the gates: W (G·H, F), U (G·H, H), b (G·H), gate after gate.
    let w_cat: Vec<E> = gates.iter().flat_map(|g| values(&g.w)).collect();
    let u_cat: Vec<E> = gates.iter().flat_map(|g| values(&g.u)).collect();
    let b_cat: Vec<E> = gates.iter().flat_map(|g| values(&g.b)).collect();
    let xv = values(&x);

    // Z = X Wᵀ + b for every (batch, step) row, in parallel inside gemm.
    let mut z = Vec::with_capacity(b * t_len * gh);
    for _ in 0..b * t_len {
        z.extend_from_slice(&b_cat);
    }
    gemm_strided(
        (b * t_len, f, gh),
        &mut z,
        gh,
        true,
        &xv,
        (f, 1),
        &w_cat,
        (1, f),
        true,
    ); // (BT,F) x (F,GH)

    // hs[b, 0] = h_0 = 0, hs[b, t + 1] = h_t; cs likewise for the LSTM's cell state.
    let mut hs = vec![E::zero(); b * (t_len + 1) * h];
    // The tanh RNN has no cell state: a one-value placeholder per row keeps the blocks aligned.
    let cs_seq = if cell == Cell::Lstm { (t_len + 1) * h } else { 1 };
    let mut cs = vec![E::zero(); b * cs_seq];
    let rows = block_rows(b);
    z.par_chunks_mut(rows * t_len * gh)
        .zip(hs.par_chunks_mut(rows * (t_len + 1) * h))
        .zip(cs.par_chunks_mut(rows * cs_seq))
        .for_each(|((z_blk, hs_blk), cs_blk)| {
            simd(
                #[inline(always)]
                || {
                    let nb = hs_blk.len() / ((t_len + 1) * h);
                    for t in 0..t_len {
                        // Z_t += h_{t−1} Uᵀ for the block's rows: (nb, H) x (H, GH), rows strided by a sequence.
                        let h_prev = &hs_blk[t * h..];
                        let z_t = &mut z_blk[t * gh..];
                        gemm_strided(
                            (nb, h, gh),
                            z_t,
                            t_len * gh,
                            true,
                            h_prev,
                            ((t_len + 1) * h, 1),
                            &u_cat,
                            (1, h),
                            false,
                        );
                        for bi in 0..nb {
                            let zr = &mut z_blk[(bi * t_len + t) * gh..][..gh];
                            let base = bi * (t_len + 1) * h;
                            match cell {
                                Cell::Tanh => {
                                    let h_t = &mut hs_blk[base + (t + 1) * h..][..h];
                                    for (zv, hv) in zr.iter_mut().zip(h_t) {
                                        *zv = zv.k_tanh(); // h_t = tanh(W x_t + U h_{t−1} + b)
                                        *hv = *zv;
                                    }
                                }
                                Cell::Lstm => {
                                    let (c_prev, c_t) =
                                        cs_blk[base + t * h..base + (t + 2) * h].split_at_mut(h);
                                    let h_t = &mut hs_blk[base + (t + 1) * h..][..h];
                                    // Activations in place, one simple loop per gate so each vectorises.
                                    zr[..2 * h].iter_mut().for_each(|v| *v = v.k_sigmoid()); // i, f
                                    zr[2 * h..3 * h].iter_mut().for_each(|v| *v = v.k_tanh()); // g
                                    zr[3 * h..].iter_mut().for_each(|v| *v = v.k_sigmoid()); // o
                                    let (zi, rest) = zr.split_at(h);
                                    let (zf, rest) = rest.split_at(h);
                                    let (zg, zo) = rest.split_at(h);
                                    // Indexed over slices of one length (not a long zip chain),
                                    // so the bounds checks go and the loop vectorises.
                                    let (c_prev, c_t) = (&c_prev[..h], &mut c_t[..h]);
                                    let (zi, zf, zg, zo) = (&zi[..h], &zf[..h], &zg[..h], &zo[..h]);
                                    for u in 0..h {
                                        c_t[u] = zf[u] * c_prev[u] + zi[u] * zg[u]; // c_t = f ⊙ c_{t−1} + i ⊙ g
                                        h_t[u] = zo[u] * c_t[u].k_tanh(); // h_t = o ⊙ tanh(c_t)
                                    }
                                }
                            }
                        }
                    }
                },
            )
        });

    // Every state h_1..h_T, or the last, of each sequence (slices copied whole: memcpy).
    let kept = if sequences {
        h..(t_len + 1) * h
    } else {
        t_len * h..(t_len + 1) * h
    };
    let out_values = gather(&hs, (t_len + 1) * h, kept);
    let (out_seq, out_last): Outputs<E, D> = if sequences {
        (Some(tensor(&x, out_values, (b, t_len, h))), None)
    } else {
        (None, Some(tensor(&x, out_values, (b, h))))
    };

    if T::OWNS_TAPE {
        let params: Vec<Gate<E, D>> = gates.iter().map(|g| (*g).clone()).collect();
        let (out_seq_id, out_last_id) = (out_seq.clone(), out_last.clone());
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let mut z = z; // gate activations, overwritten by dZ step by step
                           // dY as (B, T, H) for sequences, (B, H) for the last state.
            let dy: Vec<E> = match (&out_seq_id, &out_last_id) {
                (Some(o), _) => take_grad(grads, o),
                (_, Some(o)) => take_grad(grads, o),
                _ => unreachable!(),
            };
            let dy_seq = if sequences { t_len * h } else { h };
            z.par_chunks_mut(rows * t_len * gh)
                .zip(hs.par_chunks(rows * (t_len + 1) * h))
                .zip(dy.par_chunks(rows * dy_seq))
                .zip(cs.par_chunks(rows * cs_seq))
                .for_each(|(((z_blk, hs_blk), dy_blk), cs_blk)| {
                    simd(
                        #[inline(always)]
                        || {
                            let nb = hs_blk.len() / ((t_len + 1) * h);
                            let mut dh_next = vec![E::zero(); nb * h];
                            let mut dc_next = vec![E::zero(); if cell == Cell::Lstm { nb * h } else { 0 }];
                            for t in (0..t_len).rev() {
                                for bi in 0..nb {
                                    let zr = &mut z_blk[(bi * t_len + t) * gh..][..gh];
                                    let dh_row = &mut dh_next[bi * h..][..h];
                                    // dh = dL/dh_t from the step after plus from the output.
                                    if sequences {
                                        add_into(dh_row, &dy_blk[(bi * t_len + t) * h..][..h]);
                                    } else if t + 1 == t_len {
                                        add_into(dh_row, &dy_blk[bi * h..][..h]);
                                    }
                                    match cell {
                                        Cell::Tanh => {
                                            for (zv, &dh) in zr.iter_mut().zip(dh_row.iter()) {
                                                *zv = dh * (E::one() - *zv * *zv);
                                                // tanh' = 1 − h²
                                            }
                                        }
                                        Cell::Lstm => {
                                            let base = bi * (t_len + 1) * h;
                                            let (c_prev, c_t) = (
                                                &cs_blk[base + t * h..][..h],
                                                &cs_blk[base + (t + 1) * h..][..h],
                                            );
                                            let dc_row = &mut dc_next[bi * h..][..h];
                                            let (zi, rest) = zr.split_at_mut(h);
                                            let (zf, rest) = rest.split_at_mut(h);
                                            let (zg, zo) = rest.split_at_mut(h);
                                            let one = E::one();
                                            // Indexed over slices of one length, so it vectorises.
                                            let (zi, zf, zg, zo) =
                                                (&mut zi[..h], &mut zf[..h], &mut zg[..h], &mut zo[..h]);
                                            let (dh_row, dc_row) = (&dh_row[..h], &mut dc_row[..h]);
                                            for u in 0..h {
                                                let (i, fg, g, o) = (zi[u], zf[u], zg[u], zo[u]);
                                                let tc = c_t[u].k_tanh();
                                                let dh = dh_row[u];
                                                let dc = dc_row[u] + dh * o * (one - tc * tc);
                                                zi[u] = dc * g * i * (one - i); // through σ
                                                zf[u] = dc * c_prev[u] * fg * (one - fg);
                                                zg[u] = dc * i * (one - g * g); // through tanh
                                                zo[u] = dh * tc * o * (one - o);
                                                dc_row[u] = dc * fg; // dL/dc_{t−1}
                                            }
                                        }
                                    }
                                }
                                // dh_{t−1} = dZ_t U: (nb, GH) x (GH, H), the block's rows strided by a sequence.
                                gemm_strided(
                                    (nb, gh, h),
                                    &mut dh_next,
                                    h,
                                    false,
                                    &z_blk[t * gh..],
                                    (t_len * gh, 1),
                                    &u_cat,
                                    (h, 1),
                                    false,
                                );
                            }
                        },
                    )
                });

            // Whole-sequence GEMMs, threaded inside gemm.
            let bt = b * t_len;
            let mut dw = vec![E::zero(); gh * f];
            gemm_strided((gh, bt, f), &mut dw, f, false, &z, (1, gh), &xv, (f, 1), true); // (GH,BT) x (BT,F)
            let h_prev = gather(&hs, (t_len + 1) * h, 0..t_len * h); // h_0..h_{T−1}
            let mut du = vec![E::zero(); gh * h];
            gemm_strided((gh, bt, h), &mut du, h, false, &z, (1, gh), &h_prev, (h, 1), true); // (GH,BT) x (BT,H)
            let mut db = vec![E::zero(); gh];
            for row in z.chunks(gh) {
                add_into(&mut db, row);
            }
            let dx = grad_mut(grads, &x);
            gemm_strided((bt, gh, f), dx, f, true, &z, (gh, 1), &w_cat, (f, 1), true); // dX += dZ W
            for (j, gate) in params.iter().enumerate() {
                add_into(grad_mut(grads, &gate.w), &dw[j * h * f..(j + 1) * h * f]);
                add_into(grad_mut(grads, &gate.u), &du[j * h * h..(j + 1) * h * h]);
                add_into(grad_mut(grads, &gate.b), &db[j * h..(j + 1) * h]);
            }
            match (&out_seq_id, &out_last_id) {
                (Some(o), _) => put_grad(grads, o, dy),
                (_, Some(o)) => put_grad(grads, o, dy),
                _ => unreachable!(),
            }
            Ok(())
        });
    }
    match (out_seq, out_last) {
        (Some(o), _) => RnnResult::Sequences(o.put_tape(tape)),
        (_, Some(o)) => RnnResult::Last(o.put_tape(tape)),
        _ => unreachable!(),
    }
}

/// The `part` of every `seq`-long chunk of `all`, one after the other. Copies whole slices: a
/// `flat_map(...).collect()` over single elements was ≈4 % of an LSTM step.
fn gather<E: Copy>(all: &[E], seq: usize, part: std::ops::Range<usize>) -> Vec<E> {
    let mut out = Vec::with_capacity(all.len() / seq * part.len());
    for chunk in all.chunks(seq) {
        out.extend_from_slice(&chunk[part.clone()]);
    }
    out
}
