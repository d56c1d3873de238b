//! The encoder's inference path on the CPU in f32: the same formulas as the layers' forward,
//! run straight on the weights' buffers, for the sentence embeddings a learner computes by the
//! thousand.
//!
//! ```text
//! x = LN(E_tok[id] + E_pos[t] + E_type[tt])                           (B·S, H)
//! per layer:
//!   [Q K V] = x [W_Q; W_K; W_V]ᵀ + [b_Q b_K b_V]                      (B·S, 3H), heads side by side
//!   O_bh    = softmax(Q_bh K_bhᵀ / √d + mask_b) V_bh                   (S, d) for each (b, h)
//!   x       = LN(x + O W_Oᵀ + b_O)
//!   x       = LN(x + GELU(x W_1ᵀ + b_1) W_2ᵀ + b_2)
//! ```
//!
//! Why a path of its own: the layers' forward serves training too, so each step copies its
//! weights out of dfdx, keeps the attention weights `P` of every head for the backward, and
//! makes every intermediate a tensor. Inference needs none of that: the weights are read in
//! place, each `(batch, head)` pair's scores live in one `S×S` scratch block on the worker
//! that computes them (pairs in parallel, so one sentence uses every thread), and the biases,
//! residual sums, GELU and LayerNorms are folded into one pass over each GEMM's output.
//!
//! GELU is `½ x (1 + erf(x/√2))` with erf from Abramowitz & Stegun 7.1.26 (absolute error
//! ≤ 1.5·10⁻⁷, about one f32 step near 1) and the kernels' branch-free `exp`, so the loop
//! vectorises. The element-wise passes run 16 lanes wide where the CPU has AVX-512.
//!
//! Limits: f32 on dfdx's `Cpu` with the fast kernels on (`kernels::set_fast_kernels`), and
//! weights in row-major buffers (always so for loaded models); anything else takes the
//! layers' generic path, which `tests/pretrained_errors.rs` compares this one with.

use std::any::Any;

use dfdx::prelude::*;
use rayon::prelude::*;

use super::{BertModel, MASKED};
use crate::data::BatchEncoding;
use crate::nn::kernels::{self, math::exp_f32, matmul, wide, Mat, MatMut, Threads, Write};
use crate::nn::kernels::{matrix_in_place as matrix, vector_in_place as vector};
use crate::nn::{Activation, Dense, EncoderBlock, LayerNorm};

/// The last hidden state `(B·S, H)` row-major, or `None` where this path does not apply (see
/// the module's limits). `batch` is already checked against the model's sizes.
pub(crate) fn last_hidden_state<E: Dtype, D: Storage<E>>(
    model: &BertModel<E, D>,
    batch: &BatchEncoding,
) -> Option<Vec<E>> {
    if !kernels::cpu_path::<E, D>() {
        return None;
    }
    let model: &BertModel<f32, Cpu> = (model as &dyn Any).downcast_ref()?;
    let encoder = Encoder::borrow(model)?;
    // The whole pass on one of rayon's workers: the parallel loops inside then start there,
    // instead of each handing its work from this thread to the pool and sleeping until done.
    let hidden = rayon::scope(|_| encoder.run(batch));
    // E is f32 (the downcast above succeeded), so this is the same Vec.
    (Box::new(hidden) as Box<dyn Any>).downcast().ok().map(|v| *v)
}

/// The model's weights, borrowed from its tensors.
struct Encoder<'a> {
    token: &'a [f32],
    position: &'a [f32],
    token_type: &'a [f32],
    embedding_norm: Norm<'a>,
    layers: Vec<Layer<'a>>,
    hidden: usize,
    heads: usize,
}

struct Layer<'a> {
    q: Linear<'a>,
    k: Linear<'a>,
    v: Linear<'a>,
    o: Linear<'a>,
    norm_1: Norm<'a>,
    ff_1: Linear<'a>,
    ff_2: Linear<'a>,
    norm_2: Norm<'a>,
    activation: Activation,
}

/// `y = x Wᵀ + b`, `W` `(units, inputs)`.
struct Linear<'a> {
    w: &'a [f32],
    b: &'a [f32],
    inputs: usize,
    units: usize,
}

/// `y = (x − μ) / √(σ² + ε) ⊙ γ + β` over each row.
struct Norm<'a> {
    gamma: &'a [f32],
    beta: &'a [f32],
    eps: f32,
}

impl<'a> Encoder<'a> {
    fn borrow(m: &'a BertModel<f32, Cpu>) -> Option<Self> {
        let layers = m.layers.iter().map(Layer::borrow).collect::<Option<Vec<_>>>()?;
        let heads = m.layers.first().map_or(1, |l| l.attention.heads());
        Some(Self {
            token: matrix(&m.token_embedding.weight)?,
            position: matrix(&m.position_embedding.weight)?,
            token_type: matrix(&m.segment_embedding.weight)?,
            embedding_norm: Norm::borrow(&m.embedding_norm)?,
            layers,
            hidden: m.config.hidden_size,
            heads,
        })
    }

    fn run(&self, batch: &BatchEncoding) -> Vec<f32> {
        let (b, s, h) = (batch.batch, batch.steps, self.hidden);
        let rows = b * s;
        let mut x = self.embed(batch);
        // Scratch shared by the layers: the Q|K|V rows, the heads' outputs, one sublayer's
        // output and the feed-forward's hidden layer.
        let d_ff = self.layers.iter().map(|l| l.ff_1.units).max().unwrap_or(0);
        let mut qkv = vec![0.0; rows * 3 * h];
        let mut heads_out = vec![0.0; rows * h];
        let mut sub = vec![0.0; rows * h];
        let mut ff = vec![0.0; rows * d_ff];
        let mask: Vec<f32> = batch
            .attention_mask
            .iter()
            .map(|&m| if m == 0 { MASKED as f32 } else { 0.0 })
            .collect();
        for layer in &self.layers {
            // [Q K V] = x [W_Q; W_K; W_V]ᵀ + b, each projection into its third of the row.
            for (i, proj) in [&layer.q, &layer.k, &layer.v].into_iter().enumerate() {
                proj.forward(&x, &mut qkv[i * h..], 3 * h);
            }
            attention(&qkv, &mask, (b, s, h, self.heads), &mut heads_out);
            // The other biases are added in the pass that follows each product.
            layer.o.product(&heads_out, &mut sub);
            layer.norm_1.residual(&mut x, &sub, layer.o.b);
            let ff = &mut ff[..rows * layer.ff_1.units];
            layer.ff_1.product(&x, ff);
            activate(ff, layer.ff_1.b, layer.activation);
            layer.ff_2.product(ff, &mut sub);
            layer.norm_2.residual(&mut x, &sub, layer.ff_2.b);
        }
        x
    }

    /// `LN(E_tok[id] + E_pos[t] + E_type[tt])` for every token.
    fn embed(&self, batch: &BatchEncoding) -> Vec<f32> {
        let (s, h) = (batch.steps, self.hidden);
        let mut x = vec![0.0; batch.batch * s * h];
        x.par_chunks_mut(h).enumerate().for_each(|(i, row)| {
            let (id, tt) = (batch.ids[i], batch.type_ids[i]);
            let tok = &self.token[id * h..][..h];
            let pos = &self.position[(i % s) * h..][..h];
            let typ = &self.token_type[tt * h..][..h];
            for (((x, a), b), c) in row.iter_mut().zip(tok).zip(pos).zip(typ) {
                *x = a + b + c;
            }
        });
        self.embedding_norm.residual(&mut x, &[], &[]);
        x
    }
}

impl<'a> Layer<'a> {
    fn borrow(block: &'a EncoderBlock<f32, Cpu>) -> Option<Self> {
        let a = &block.attention;
        Some(Self {
            q: Linear::borrow(&a.w_q)?,
            k: Linear::borrow(&a.w_k)?,
            v: Linear::borrow(&a.w_v)?,
            o: Linear::borrow(&a.w_o)?,
            norm_1: Norm::borrow(&block.norm_1)?,
            ff_1: Linear::borrow(&block.feed_forward.w_1)?,
            ff_2: Linear::borrow(&block.feed_forward.w_2)?,
            norm_2: Norm::borrow(&block.norm_2)?,
            activation: block.feed_forward.try_activation().ok()?, // a damaged code: the generic path says so
        })
    }
}

impl<'a> Linear<'a> {
    fn borrow(dense: &'a Dense<f32, Cpu>) -> Option<Self> {
        let (units, inputs) = *dense.weight.shape();
        Some(Self {
            w: matrix(&dense.weight)?,
            b: vector(&dense.bias)?,
            inputs,
            units,
        })
    }

    /// `out[i·out_rs + j] = Σ_l x[i·inputs + l] W[j·inputs + l] + b[j]` for every row of `x`.
    fn forward(&self, x: &[f32], out: &mut [f32], out_rs: usize) {
        let rows = x.len() / self.inputs;
        out.par_chunks_mut(out_rs)
            .take(rows)
            .for_each(|row| row[..self.units].copy_from_slice(self.b));
        self.product_into(x, out, out_rs, Write::Add);
    }

    /// `out = x Wᵀ`, `(rows, units)` row-major, the bias left to the caller.
    fn product(&self, x: &[f32], out: &mut [f32]) {
        self.product_into(x, out, self.units, Write::Set);
    }

    fn product_into(&self, x: &[f32], out: &mut [f32], out_rs: usize, write: Write) {
        let rows = x.len() / self.inputs;
        let out = MatMut::new(out, rows, self.units).row_stride(out_rs);
        let x = Mat::new(x, rows, self.inputs);
        let w = Mat::new(self.w, self.units, self.inputs);
        matmul(out, write, x, w.t(), Threads::Pool); // out (=|+=) x Wᵀ
    }
}

impl<'a> Norm<'a> {
    fn borrow(norm: &'a LayerNorm<f32, Cpu>) -> Option<Self> {
        Some(Self {
            gamma: vector(&norm.gamma)?,
            beta: vector(&norm.beta)?,
            eps: norm.epsilon() as f32,
        })
    }

    /// `x ← LN(x + y + b)` row by row (`y` and `b` empty: `x ← LN(x)`).
    fn residual(&self, x: &mut [f32], y: &[f32], b: &[f32]) {
        let h = self.gamma.len();
        let chunk = h * 16;
        x.par_chunks_mut(chunk).enumerate().for_each(|(c, rows)| {
            wide(
                #[inline(always)]
                || {
                    for (r, row) in rows.chunks_mut(h).enumerate() {
                        if !y.is_empty() {
                            let add = &y[c * chunk + r * h..][..h];
                            for ((x, y), b) in row.iter_mut().zip(add).zip(b) {
                                *x += y + b;
                            }
                        }
                        self.normalize(row);
                    }
                },
            )
        });
    }

    #[inline(always)]
    fn normalize(&self, row: &mut [f32]) {
        let n = row.len() as f32;
        let mean = kernels::reduce::sum(row) / n;
        for v in row.iter_mut() {
            *v -= mean;
        }
        let r = 1.0 / (kernels::reduce::dot(row, row) / n + self.eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(self.gamma).zip(self.beta) {
            *v = *v * r * g + b;
        }
    }
}

/// Every `(batch, head)` pair's `softmax(Q Kᵀ / √d + mask) V`, written into `out` `(B·S, H)`
/// with the heads side by side, as the output projection reads them.
fn attention(qkv: &[f32], mask: &[f32], (b, s, h, heads): (usize, usize, usize, usize), out: &mut [f32]) {
    let d = h / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let row = 3 * h; // one token's [q | k | v]
    let blocks: Vec<Vec<f32>> = (0..b * heads)
        .into_par_iter()
        .map_init(
            || vec![0.0f32; s * s],
            |scores, pair| {
                let (bi, hi) = (pair / heads, pair % heads);
                let base = bi * s * row + hi * d;
                let (q, k, v) = (&qkv[base..], &qkv[base + h..], &qkv[base + 2 * h..]);
                let (q, k) = (
                    Mat::new(q, s, d).row_stride(row),
                    Mat::new(k, s, d).row_stride(row),
                );
                matmul(MatMut::new(scores, s, s), Write::Set, q, k.t(), Threads::Caller); // S = Q Kᵀ
                let mask = &mask[bi * s..][..s];
                wide(
                    #[inline(always)]
                    || {
                        for r in scores.chunks_mut(s) {
                            softmax(r, scale, mask);
                        }
                    },
                );
                let mut o = vec![0.0f32; s * d];
                let (p, v) = (Mat::new(scores, s, s), Mat::new(v, s, d).row_stride(row));
                matmul(MatMut::new(&mut o, s, d), Write::Set, p, v, Threads::Caller); // O = P V
                o
            },
        )
        .collect();
    for (pair, block) in blocks.iter().enumerate() {
        let (bi, hi) = (pair / heads, pair % heads);
        for (t, o) in block.chunks(d).enumerate() {
            out[(bi * s + t) * h + hi * d..][..d].copy_from_slice(o);
        }
    }
}

/// `row ← softmax(row · scale + mask)`, the row's maximum subtracted so `exp` never overflows.
#[inline(always)]
fn softmax(row: &mut [f32], scale: f32, mask: &[f32]) {
    // Plain loops: iterator adaptors may stay out of line, compiled without the wide lanes.
    for (x, m) in row.iter_mut().zip(mask) {
        *x = *x * scale + m;
    }
    let max = kernels::reduce::max(row);
    for x in row.iter_mut() {
        *x = exp_f32(*x - max);
    }
    let inv = 1.0 / kernels::reduce::sum(row);
    for x in row.iter_mut() {
        *x *= inv;
    }
}

/// `h ← act(h + b)` over the feed-forward's hidden layer `(rows, d_ff)`.
fn activate(hidden: &mut [f32], b: &[f32], activation: Activation) {
    let chunk = b.len() * 16;
    hidden.par_chunks_mut(chunk).for_each(|rows| {
        wide(
            #[inline(always)]
            || {
                for row in rows.chunks_mut(b.len()) {
                    // Plain loops, as in `softmax`.
                    match activation {
                        Activation::Gelu => {
                            for (v, b) in row.iter_mut().zip(b) {
                                *v = gelu(*v + b);
                            }
                        }
                        Activation::Relu => {
                            for (v, b) in row.iter_mut().zip(b) {
                                *v = (*v + b).max(0.0);
                            }
                        }
                    }
                }
            },
        )
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
    let r = (-poly).mul_add(exp_f32(-a * a), 1.0);
    r.copysign(z)
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
        activate(&mut v, &[0.0; 5], Activation::Gelu);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[2], 0.0);
        assert_eq!(v[4], 30.0);
        assert!((v[3] - 0.841_344_7).abs() < 3e-7 && (v[1] + 0.158_655_25).abs() < 3e-7);
    }
}
