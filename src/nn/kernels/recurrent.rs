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
//! then the step: `h_t = tanh(z_t)` (RNN), or `i, f, o = σ(·)`, `g = tanh(·)`,
//! `c_t = f ⊙ c_{t−1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)` (LSTM). The backward walks the steps
//! in reverse, keeping `dh` and `dc` for the step before and writing each step's `dZ_t` over
//! its gate values (no longer needed once read); then `dW = dZᵀ X`, `dU = dZᵀ H_prev`,
//! `db = Σ dZ` and `dX += dZ W` are four products over all steps.
//!
//! Sequences in a batch are independent, so the batch is split into one block per rayon
//! worker and each block runs all its steps alone: no synchronisation per step. Buffers are
//! laid out `(batch, step, ·)`, so a block is one contiguous slice and a step's rows are a
//! strided view. Each step function below is followed by its backward.
//! Limits: memory for all steps' gates is kept for the backward (`B·T·G·H`).

use super::{add_into, contiguous, cpu_grads, grad_mut, matmul, put_grad, simd, take_grad, tensor, values};
use super::{Mat, MatMut, Threads, Write};
use crate::nn::recurrence::{Gate, RnnResult};
use crate::nn::{Dyn3, Real};
use dfdx::prelude::*;
use rayon::prelude::*;

/// Which recurrence the gates feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recurrence {
    /// One gate: `h_t = tanh(z_t)`.
    Tanh,
    /// Four gates i, f, g, o and a cell state `c_t`.
    Lstm,
}

impl Recurrence {
    fn gates(self) -> usize {
        match self {
            Recurrence::Tanh => 1,
            Recurrence::Lstm => 4,
        }
    }
}

/// The sizes of one run, in the names of the formulas above, and where each buffer's rows lie.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    kind: Recurrence,
    b: usize,
    t: usize,
    f: usize,
    h: usize,
    /// `G·H`: one row of `Z`.
    gh: usize,
}

impl Sizes {
    /// Values per sequence in `hs`: `h_0 = 0, h_1, …, h_T`.
    fn states(&self) -> usize {
        (self.t + 1) * self.h
    }

    /// Values per sequence in `cs`: `c_0 … c_T` for the LSTM; the tanh RNN has no cell
    /// state, and one placeholder per sequence keeps the parallel blocks aligned.
    fn cells(&self) -> usize {
        match self.kind {
            Recurrence::Lstm => self.states(),
            Recurrence::Tanh => 1,
        }
    }

    /// Sequences per parallel block: one block per worker, at least one sequence.
    fn block(&self) -> usize {
        self.b.div_ceil(rayon::current_num_threads().max(1)).max(1)
    }
}

/// The gates' parameters stacked gate after gate: `W (G·H, F)`, `U (G·H, H)`, `b (G·H)`.
struct Stacked<E> {
    w: Vec<E>,
    u: Vec<E>,
    b: Vec<E>,
}

impl<E: Real> Stacked<E> {
    fn new<D: Device<E>>(gates: &[&Gate<E, D>]) -> Self {
        Stacked {
            w: gates.iter().flat_map(|g| values(&g.w)).collect(),
            u: gates.iter().flat_map(|g| values(&g.u)).collect(),
            b: gates.iter().flat_map(|g| values(&g.b)).collect(),
        }
    }
}

/// What the forward keeps for the backward: the gate activations `Z` `(B, T, G·H)`, the
/// states `hs` `(B, T + 1, H)` and the LSTM's cell states `cs`.
struct Forward<E> {
    z: Vec<E>,
    hs: Vec<E>,
    cs: Vec<E>,
}

/// Runs the recurrent layer whose gates are `gates` (one per [`Recurrence::gates`]) over `x`
/// `(B, T, F)`, returning every state or the last, with the backward on the tape.
pub(crate) fn recurrent<E: Real, D: Device<E>, T: Tape<E, D>>(
    gates: &[&Gate<E, D>],
    kind: Recurrence,
    x: Tensor<Dyn3, E, D, T>,
    sequences: bool,
) -> RnnResult<E, D, T> {
    let (x, mut tape) = contiguous(x).split_tape();
    let (b, t, f) = *x.shape();
    let h = gates[0].u.shape().0;
    debug_assert_eq!(gates.len(), kind.gates());
    let n = Sizes {
        kind,
        b,
        t,
        f,
        h,
        gh: kind.gates() * h,
    };
    let params = Stacked::new(gates);
    let xv = values(&x);
    let run = forward(n, &params, &xv);
    let out = output(n, &run.hs, sequences, &x);

    if T::OWNS_TAPE {
        let gates: Vec<Gate<E, D>> = gates.iter().map(|g| (*g).clone()).collect();
        let out_id = out.clone();
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let dy = match &out_id {
                RnnResult::Sequences(o) => take_grad(grads, o),
                RnnResult::Last(o) => take_grad(grads, o),
            };
            let Forward { z: mut dz, hs, cs } = run;
            backward_through_time(n, &params.u, &mut dz, &hs, &cs, &dy, sequences); // Z becomes dZ
            let (dw, du, db) = parameter_gradients(n, &params, &dz, &xv, &hs, grad_mut(grads, &x));
            for (j, gate) in gates.iter().enumerate() {
                add_into(grad_mut(grads, &gate.w), &dw[j * h * f..][..h * f]);
                add_into(grad_mut(grads, &gate.u), &du[j * h * h..][..h * h]);
                add_into(grad_mut(grads, &gate.b), &db[j * h..][..h]);
            }
            match &out_id {
                RnnResult::Sequences(o) => put_grad(grads, o, dy),
                RnnResult::Last(o) => put_grad(grads, o, dy),
            }
            Ok(())
        });
    }
    out.put_tape(tape)
}

/// Every state `h_1 … h_T` `(B, T, H)`, or the last `(B, H)`, of each sequence.
fn output<E: Real, D: Device<E>>(
    n: Sizes,
    hs: &[E],
    sequences: bool,
    like: &Tensor<Dyn3, E, D>,
) -> RnnResult<E, D, NoneTape> {
    if sequences {
        let all = gather(hs, n.states(), n.h..n.states());
        RnnResult::Sequences(tensor(like, all, (n.b, n.t, n.h)))
    } else {
        let last = gather(hs, n.states(), n.t * n.h..n.states());
        RnnResult::Last(tensor(like, last, (n.b, n.h)))
    }
}

/// `Z = X Wᵀ + b` for every row at once, then the steps, each block of sequences on its own worker.
fn forward<E: Real>(n: Sizes, params: &Stacked<E>, xv: &[E]) -> Forward<E> {
    let rows = n.b * n.t;
    let mut z = params.b.repeat(rows);
    let (x, w) = (Mat::new(xv, rows, n.f), Mat::new(&params.w, n.gh, n.f));
    matmul(
        MatMut::new(&mut z, rows, n.gh),
        Write::Add,
        x,
        w.t(),
        Threads::Pool,
    ); // Z += X Wᵀ
    let mut hs = vec![E::zero(); n.b * n.states()];
    let mut cs = vec![E::zero(); n.b * n.cells()];
    let blk = n.block();
    z.par_chunks_mut(blk * n.t * n.gh)
        .zip(hs.par_chunks_mut(blk * n.states()))
        .zip(cs.par_chunks_mut(blk * n.cells()))
        .for_each(|((z, hs), cs)| {
            simd(
                #[inline(always)]
                || forward_block(n, &params.u, z, hs, cs),
            )
        });
    Forward { z, hs, cs }
}

/// All steps of one block of sequences: `Z_t += h_{t−1} Uᵀ`, then the step's activations.
#[inline(always)]
fn forward_block<E: Real>(n: Sizes, u: &[E], z: &mut [E], hs: &mut [E], cs: &mut [E]) {
    let seqs = hs.len() / n.states();
    let u = Mat::new(u, n.gh, n.h);
    for t in 0..n.t {
        // The block's rows of step t are one sequence apart in z and hs.
        let h_prev = Mat::new(&hs[t * n.h..], seqs, n.h).row_stride(n.states());
        let z_t = MatMut::new(&mut z[t * n.gh..], seqs, n.gh).row_stride(n.t * n.gh);
        matmul(z_t, Write::Add, h_prev, u.t(), Threads::Caller); // Z_t += h_{t−1} Uᵀ
        for s in 0..seqs {
            let z_st = &mut z[(s * n.t + t) * n.gh..][..n.gh];
            let h_t = &mut hs[s * n.states() + (t + 1) * n.h..][..n.h];
            match n.kind {
                Recurrence::Tanh => tanh_step(z_st, h_t),
                Recurrence::Lstm => {
                    let (c_prev, c_t) = cs[s * n.states() + t * n.h..][..2 * n.h].split_at_mut(n.h);
                    lstm_step(z_st, c_prev, c_t, h_t);
                }
            }
        }
    }
}

/// The backward of [`forward`]: `dZ` `(B, T, G·H)`, written over the gate values `z`. Each
/// block of sequences walks its steps in reverse: `dh_t` from the output and the step after,
/// through the step's activations into `dZ_t`, then `dh_{t−1} = dZ_t U`.
// A block's steps stay in this closure: moved into a function of their own (taking the
// block's slices), the LSTM step's loop no longer vectorised and an LSTM training step took
// ≈35 % longer.
fn backward_through_time<E: Real>(
    n: Sizes,
    u: &[E],
    z: &mut [E],
    hs: &[E],
    cs: &[E],
    dy: &[E],
    sequences: bool,
) {
    let Sizes {
        kind,
        t: steps,
        h,
        gh,
        ..
    } = n;
    let blk = n.block();
    let dy_seq = if sequences { steps * h } else { h };
    let (states, cells) = (n.states(), n.cells());
    let u = Mat::new(u, gh, h);
    z.par_chunks_mut(blk * steps * gh)
        .zip(hs.par_chunks(blk * states))
        .zip(dy.par_chunks(blk * dy_seq))
        .zip(cs.par_chunks(blk * cells))
        .for_each(|(((z_blk, hs_blk), dy_blk), cs_blk)| {
            simd(
                #[inline(always)]
                || {
                    let seqs = hs_blk.len() / states;
                    let mut dh_next = vec![E::zero(); seqs * h];
                    let mut dc_next = vec![E::zero(); if kind == Recurrence::Lstm { seqs * h } else { 0 }];
                    for t in (0..steps).rev() {
                        for s in 0..seqs {
                            let zr = &mut z_blk[(s * steps + t) * gh..][..gh];
                            let dh_row = &mut dh_next[s * h..][..h];
                            // dh = dL/dh_t from the step after plus from the output.
                            if sequences {
                                add_into(dh_row, &dy_blk[(s * steps + t) * h..][..h]);
                            } else if t + 1 == steps {
                                add_into(dh_row, &dy_blk[s * h..][..h]);
                            }
                            match kind {
                                Recurrence::Tanh => tanh_step_backward(zr, dh_row),
                                Recurrence::Lstm => {
                                    let base = s * states;
                                    let (c_prev, c_t) =
                                        (&cs_blk[base + t * h..][..h], &cs_blk[base + (t + 1) * h..][..h]);
                                    let dc_row = &mut dc_next[s * h..][..h];
                                    lstm_step_backward(zr, c_prev, c_t, dh_row, dc_row);
                                }
                            }
                        }
                        let dz_t = Mat::new(&z_blk[t * gh..], seqs, gh).row_stride(steps * gh);
                        // dh_{t−1} = dZ_t U
                        matmul(
                            MatMut::new(&mut dh_next, seqs, h),
                            Write::Set,
                            dz_t,
                            u,
                            Threads::Caller,
                        );
                    }
                },
            )
        });
}

/// `h_t = tanh(z_t)`; `z_t` keeps `h_t` for the backward.
#[inline(always)]
fn tanh_step<E: Real>(z: &mut [E], h_t: &mut [E]) {
    for (zv, hv) in z.iter_mut().zip(h_t) {
        *zv = zv.k_tanh();
        *hv = *zv;
    }
}

/// `dz = dh ⊙ (1 − h_t²)`, written over `h_t`.
#[inline(always)]
fn tanh_step_backward<E: Real>(z: &mut [E], dh: &[E]) {
    for (zv, &d) in z.iter_mut().zip(dh) {
        *zv = d * (E::one() - *zv * *zv);
    }
}

/// The LSTM step on one sequence's gates `z = [i f g o]`, activated in place:
/// `c_t = f ⊙ c_{t−1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`.
#[inline(always)]
fn lstm_step<E: Real>(z: &mut [E], c_prev: &[E], c_t: &mut [E], h_t: &mut [E]) {
    let h = h_t.len();
    // One simple loop per activation, so each vectorises.
    z[..2 * h].iter_mut().for_each(|v| *v = v.k_sigmoid()); // i, f
    z[2 * h..3 * h].iter_mut().for_each(|v| *v = v.k_tanh()); // g
    z[3 * h..].iter_mut().for_each(|v| *v = v.k_sigmoid()); // o
    let (i, rest) = z.split_at(h);
    let (f, rest) = rest.split_at(h);
    let (g, o) = rest.split_at(h);
    // Indexed over slices of one length (not a long zip chain), so the bounds checks go and
    // the loop vectorises.
    let (i, f, g, o, c_prev, c_t) = (&i[..h], &f[..h], &g[..h], &o[..h], &c_prev[..h], &mut c_t[..h]);
    for u in 0..h {
        c_t[u] = f[u] * c_prev[u] + i[u] * g[u];
        h_t[u] = o[u] * c_t[u].k_tanh();
    }
}

/// The backward of [`lstm_step`]: `dZ = [di df dg do]` through σ and tanh, written over the
/// gates; `dc` comes in as `dL/dc_t` from the step after and leaves as `dL/dc_{t−1}`.
#[inline(always)]
fn lstm_step_backward<E: Real>(z: &mut [E], c_prev: &[E], c_t: &[E], dh: &[E], dc: &mut [E]) {
    let h = dh.len();
    let one = E::one();
    let (zi, rest) = z.split_at_mut(h);
    let (zf, rest) = rest.split_at_mut(h);
    let (zg, zo) = rest.split_at_mut(h);
    let (zi, zf, zg, zo) = (&mut zi[..h], &mut zf[..h], &mut zg[..h], &mut zo[..h]);
    let (c_prev, c_t, dh, dc) = (&c_prev[..h], &c_t[..h], &dh[..h], &mut dc[..h]);
    for u in 0..h {
        let (i, f, g, o) = (zi[u], zf[u], zg[u], zo[u]);
        let tc = c_t[u].k_tanh();
        let dc_t = dc[u] + dh[u] * o * (one - tc * tc);
        zi[u] = dc_t * g * i * (one - i); // σ' = σ (1 − σ)
        zf[u] = dc_t * c_prev[u] * f * (one - f);
        zg[u] = dc_t * i * (one - g * g); // tanh' = 1 − tanh²
        zo[u] = dh[u] * tc * o * (one - o);
        dc[u] = dc_t * f;
    }
}

/// From `dZ` `(B·T, G·H)`: `dX += dZ W` into `dx`, and the stacked `dW = dZᵀ X`,
/// `dU = dZᵀ H_prev` and `db = Σ_rows dZ`, each product over all steps at once.
fn parameter_gradients<E: Real>(
    n: Sizes,
    params: &Stacked<E>,
    dz: &[E],
    xv: &[E],
    hs: &[E],
    dx: &mut [E],
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let rows = n.b * n.t;
    let h_prev = gather(hs, n.states(), 0..n.t * n.h); // h_0 … h_{T−1}
    let mut db = vec![E::zero(); n.gh];
    for row in dz.chunks(n.gh) {
        add_into(&mut db, row); // db = Σ_rows dZ
    }
    let (dz, x, h_prev) = (
        Mat::new(dz, rows, n.gh),
        Mat::new(xv, rows, n.f),
        Mat::new(&h_prev, rows, n.h),
    );
    let mut dw = vec![E::zero(); n.gh * n.f];
    matmul(
        MatMut::new(&mut dw, n.gh, n.f),
        Write::Set,
        dz.t(),
        x,
        Threads::Pool,
    ); // dW = dZᵀ X
    let mut du = vec![E::zero(); n.gh * n.h];
    matmul(
        MatMut::new(&mut du, n.gh, n.h),
        Write::Set,
        dz.t(),
        h_prev,
        Threads::Pool,
    ); // dU = dZᵀ H_prev
    let w = Mat::new(&params.w, n.gh, n.f);
    matmul(MatMut::new(dx, rows, n.f), Write::Add, dz, w, Threads::Pool); // dX += dZ W
    (dw, du, db)
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
