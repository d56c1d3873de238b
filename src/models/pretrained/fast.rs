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
use std::sync::{Arc, Mutex};

use dfdx::prelude::*;
use rayon::prelude::*;

use super::{BertModel, MASKED};
use crate::data::BatchEncoding;
use crate::nn::kernels::{self, linear, math::exp_f32, matmul, wide, Mat, MatMut, Threads, Weights, Write};
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
    let cache = &model.prepared;
    let prepared = cache.get(model)?;
    let encoder = Encoder::borrow(model, &prepared)?;
    // A pass running at the same time as this one finds the slot empty and makes its own.
    let mut scratch = cache.take_scratch();
    // The whole pass on one of rayon's workers: the parallel loops inside then start there,
    // instead of each handing its work from this thread to the pool and sleeping until done.
    let hidden = rayon::scope(|_| encoder.run(batch, &mut scratch));
    cache.keep_scratch(scratch);
    // E is f32 (the downcast above succeeded), so this is the same Vec.
    (Box::new(hidden) as Box<dyn Any>).downcast().ok().map(|v| *v)
}

/// A model's [`Prepared`] weights, kept from one call to the next. A clone of the model starts
/// with an empty cache.
#[derive(Default)]
pub(crate) struct PreparedCache {
    prepared: Mutex<Option<Arc<Prepared>>>,
    scratch: Mutex<Option<Scratch>>,
}

impl Clone for PreparedCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for PreparedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreparedCache")
    }
}

impl PreparedCache {
    /// The weights prepared from `model` as it is now: the cached ones while its dense layers
    /// are the very buffers they were made from, else made afresh (`None`: a layout this path
    /// does not read).
    fn get(&self, model: &BertModel<f32, Cpu>) -> Option<Arc<Prepared>> {
        // A poisoned lock only means another thread panicked mid-build; the slot is still sound.
        let mut cached = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
        let addresses = addresses(model)?;
        match &*cached {
            Some(p) if p.addresses == addresses => Some(p.clone()),
            _ => {
                let p = Arc::new(Prepared::new(model, addresses)?);
                *cached = Some(p.clone());
                Some(p)
            }
        }
    }
}

impl PreparedCache {
    fn take_scratch(&self) -> Scratch {
        let mut slot = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        slot.take().unwrap_or_default()
    }

    fn keep_scratch(&self, scratch: Scratch) {
        *self.scratch.lock().unwrap_or_else(|e| e.into_inner()) = Some(scratch);
    }
}

/// One pass's intermediate buffers, kept for the next: freshly allocated, each page of them
/// (60 MB at batch 32) cost a page fault on every pass, 2–4 % of its time.
#[derive(Default)]
struct Scratch {
    qkv: Vec<f32>,
    heads: Vec<f32>,
    blocks: Vec<f32>,
    sub: Vec<f32>,
    ff: Vec<f32>,
}

/// The first `len` values of `buf`, grown as needed (every user overwrites them).
fn sized(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// The layers' products made ready once: each weight matrix packed for the GEMM ([`Weights`]),
/// `W_Q`, `W_K` and `W_V` stacked into one.
///
/// Why keeping them is safe: `sources` shares the buffers of the tensors they were made from
/// (a dfdx clone shares its buffer), so any later change to a weight shows as a new buffer
/// address. dfdx writes into a shared buffer only after copying it (`Arc::make_mut`: an
/// optimizer step, a load, `IndexMut`), and a new tensor cannot be given an address that
/// `sources` still holds.
pub(crate) struct Prepared {
    layers: Vec<PreparedLayer>,
    addresses: Vec<usize>,
    _sources: Vec<Dense<f32, Cpu>>,
}

struct PreparedLayer {
    qkv: Linear,
    o: Linear,
    ff_1: Linear,
    ff_2: Linear,
}

/// The six dense layers of each encoder layer, in a fixed order.
fn denses(block: &EncoderBlock<f32, Cpu>) -> [&Dense<f32, Cpu>; 6] {
    let (a, f) = (&block.attention, &block.feed_forward);
    [&a.w_q, &a.w_k, &a.w_v, &a.w_o, &f.w_1, &f.w_2]
}

/// Where every dense layer's weight and bias live, in the order of [`denses`].
fn addresses(model: &BertModel<f32, Cpu>) -> Option<Vec<usize>> {
    let mut out = Vec::with_capacity(model.layers.len() * 12);
    for dense in model.layers.iter().flat_map(denses) {
        out.push(matrix(&dense.weight)?.as_ptr() as usize);
        out.push(vector(&dense.bias)?.as_ptr() as usize);
    }
    Some(out)
}

impl Prepared {
    fn new(model: &BertModel<f32, Cpu>, addresses: Vec<usize>) -> Option<Self> {
        let layers = model
            .layers
            .iter()
            .map(PreparedLayer::new)
            .collect::<Option<Vec<_>>>()?;
        let sources = model.layers.iter().flat_map(denses).cloned().collect();
        Some(Self {
            layers,
            addresses,
            _sources: sources,
        })
    }
}

impl PreparedLayer {
    fn new(block: &EncoderBlock<f32, Cpu>) -> Option<Self> {
        let [q, k, v, o, ff_1, ff_2] = denses(block);
        Some(Self {
            qkv: Linear::stacked(&[q, k, v])?,
            o: Linear::stacked(&[o])?,
            ff_1: Linear::stacked(&[ff_1])?,
            ff_2: Linear::stacked(&[ff_2])?,
        })
    }
}

/// `y = x Wᵀ + b`, `W` `(units, inputs)`, ready for the GEMM.
struct Linear {
    w: Weights,
    b: Vec<f32>,
}

impl Linear {
    /// The layers side by side: `W = [W₁; W₂; …]` `(Σ units, inputs)`, `b = [b₁ b₂ …]`.
    fn stacked(parts: &[&Dense<f32, Cpu>]) -> Option<Self> {
        let inputs = parts.first()?.weight.shape().1;
        let (mut w, mut b) = (Vec::new(), Vec::new());
        for d in parts {
            if d.weight.shape().1 != inputs {
                return None;
            }
            w.extend_from_slice(matrix(&d.weight)?);
            b.extend_from_slice(vector(&d.bias)?);
        }
        Some(Self {
            w: Weights::new(&w, b.len(), inputs),
            b,
        })
    }

    fn units(&self) -> usize {
        self.w.units()
    }

    /// `out = x Wᵀ + b` for every row of `x`, `(rows, units)` row-major.
    fn forward(&self, x: &[f32], out: &mut [f32]) {
        let inputs = self.w.inputs();
        let rows = x.len() / inputs;
        let out = MatMut::new(out, rows, self.units());
        linear(out, Mat::new(x, rows, inputs), &self.w, &self.b, Threads::Pool);
    }
}

/// The model's weights: the embeddings and norms borrowed from its tensors, the products from
/// the prepared weights.
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
    linear: &'a PreparedLayer,
    norm_1: Norm<'a>,
    norm_2: Norm<'a>,
    activation: Activation,
}

/// `y = (x − μ) / √(σ² + ε) ⊙ γ + β` over each row.
struct Norm<'a> {
    gamma: &'a [f32],
    beta: &'a [f32],
    eps: f32,
}

impl<'a> Encoder<'a> {
    fn borrow(m: &'a BertModel<f32, Cpu>, prepared: &'a Prepared) -> Option<Self> {
        let layers = m
            .layers
            .iter()
            .zip(&prepared.layers)
            .map(|(block, linear)| Layer::borrow(block, linear))
            .collect::<Option<Vec<_>>>()?;
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

    fn run(&self, batch: &BatchEncoding, scratch: &mut Scratch) -> Vec<f32> {
        let (b, s, h) = (batch.batch, batch.steps, self.hidden);
        let rows = b * s;
        let mut x = self.embed(batch);
        let qkv = sized(&mut scratch.qkv, rows * 3 * h);
        let heads_out = sized(&mut scratch.heads, rows * h);
        let blocks = sized(&mut scratch.blocks, rows * h);
        let sub = sized(&mut scratch.sub, rows * h);
        let mask: Vec<f32> = batch
            .attention_mask
            .iter()
            .map(|&m| if m == 0 { MASKED as f32 } else { 0.0 })
            .collect();
        for layer in &self.layers {
            let p = layer.linear;
            p.qkv.forward(&x, qkv); // [Q K V] = x [W_Q; W_K; W_V]ᵀ + b
            attention(qkv, &mask, (s, h, self.heads), blocks, heads_out);
            p.o.forward(heads_out, sub);
            layer.norm_1.residual(&mut x, sub);
            let ff = sized(&mut scratch.ff, rows * p.ff_1.units());
            p.ff_1.forward(&x, ff);
            activate(ff, p.ff_1.units(), layer.activation);
            p.ff_2.forward(ff, sub);
            layer.norm_2.residual(&mut x, sub);
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
        self.embedding_norm.residual(&mut x, &[]);
        x
    }
}

impl<'a> Layer<'a> {
    fn borrow(block: &'a EncoderBlock<f32, Cpu>, linear: &'a PreparedLayer) -> Option<Self> {
        Some(Self {
            linear,
            norm_1: Norm::borrow(&block.norm_1)?,
            norm_2: Norm::borrow(&block.norm_2)?,
            activation: block.feed_forward.try_activation().ok()?, // a damaged code: the generic path says so
        })
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

    /// `x ← LN(x + y)` row by row (`y` empty: `x ← LN(x)`).
    fn residual(&self, x: &mut [f32], y: &[f32]) {
        let h = self.gamma.len();
        let chunk = h * 16;
        x.par_chunks_mut(chunk).enumerate().for_each(|(c, rows)| {
            wide(
                #[inline(always)]
                || {
                    for (r, row) in rows.chunks_mut(h).enumerate() {
                        if !y.is_empty() {
                            for (x, y) in row.iter_mut().zip(&y[c * chunk + r * h..][..h]) {
                                *x += y;
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

/// Every `(batch, head)` pair's `softmax(Q Kᵀ / √d + mask) V`, into its own `S×d` block of
/// `blocks`, then written into `out` `(B·S, H)` with the heads side by side, as the output
/// projection reads them.
fn attention(
    qkv: &[f32],
    mask: &[f32],
    (s, h, heads): (usize, usize, usize),
    blocks: &mut [f32],
    out: &mut [f32],
) {
    let d = h / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let row = 3 * h; // one token's [q | k | v]
    blocks.par_chunks_mut(s * d).enumerate().for_each_init(
        || vec![0.0f32; s * s],
        |scores, (pair, o)| {
            let (bi, hi) = (pair / heads, pair % heads);
            let base = bi * s * row + hi * d;
            let (q, k, v) = (&qkv[base..], &qkv[base + h..], &qkv[base + 2 * h..]);
            let (q, k) = (
                Mat::new(q, s, d).row_stride(row),
                Mat::new(k, s, d).row_stride(row),
            );
            matmul(MatMut::new(scores, s, s), Write::Set, q, k.t(), Threads::Caller); // S = Q Kᵀ
            softmax_rows(scores, s, scale, &mask[bi * s..][..s]);
            let (p, v) = (Mat::new(scores, s, s), Mat::new(v, s, d).row_stride(row));
            matmul(MatMut::new(o, s, d), Write::Set, p, v, Threads::Caller); // O = P V
        },
    );
    for (pair, block) in blocks.chunks(s * d).enumerate() {
        let (bi, hi) = (pair / heads, pair % heads);
        for (t, o) in block.chunks(d).enumerate() {
            out[(bi * s + t) * h + hi * d..][..d].copy_from_slice(o);
        }
    }
}

/// Each row of `scores` (`s` wide) ← `softmax(row · scale + mask)`.
fn softmax_rows(scores: &mut [f32], s: usize, scale: f32, mask: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if kernels::vec512::available() {
        // SAFETY: avx512f was just detected; the mask is s long, as each row.
        unsafe { kernels::vec512::softmax_rows(scores, s, scale, mask) };
        return;
    }
    wide(
        #[inline(always)]
        || {
            for r in scores.chunks_mut(s) {
                softmax(r, scale, mask);
            }
        },
    );
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

/// `h ← act(h)` over the feed-forward's hidden layer `(rows, units)`, its bias already added.
fn activate(hidden: &mut [f32], units: usize, activation: Activation) {
    #[cfg(target_arch = "x86_64")]
    if activation == Activation::Gelu && kernels::vec512::available() {
        // SAFETY: avx512f was just detected.
        hidden
            .par_chunks_mut(units * 16)
            .for_each(|rows| unsafe { kernels::vec512::gelu(rows) });
        return;
    }
    hidden.par_chunks_mut(units * 16).for_each(|rows| {
        wide(
            #[inline(always)]
            || {
                // Plain loops, as in `softmax`.
                match activation {
                    Activation::Gelu => {
                        for v in rows.iter_mut() {
                            *v = gelu(*v);
                        }
                    }
                    Activation::Relu => {
                        for v in rows.iter_mut() {
                            *v = v.max(0.0);
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
    use crate::nn::kernels::math::gelu_f64;

    #[test]
    fn gelu_matches_the_exact_formula() {
        let mut worst: f64 = 0.0;
        for i in -6000..=6000 {
            let x = i as f32 / 1000.0;
            let exact = gelu_f64(x as f64);
            worst = worst.max((gelu(x) as f64 - exact).abs());
        }
        assert!(worst < 5e-7, "worst absolute error {worst}");
        let mut v = vec![-30.0, -1.0, 0.0, 1.0, 30.0];
        activate(&mut v, 5, Activation::Gelu);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[2], 0.0);
        assert_eq!(v[4], 30.0);
        assert!((v[3] - 0.841_344_7).abs() < 3e-7 && (v[1] + 0.158_655_25).abs() < 3e-7);
    }
}
