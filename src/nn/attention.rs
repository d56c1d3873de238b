//! Attention, book formula 3.4.4: `Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V`,
//! and multi-head self-attention, Keras `MultiHeadAttention(num_heads, key_dim)`:
//!
//! `MultiHead(X) = Concat(head_1, …, head_h) W_O`, `head_i = Attention(X W_Q^i, X W_K^i, X W_V^i)`.
//!
//! Shapes: `(batch, steps, d_model) -> (batch, steps, d_model)`; each head works on
//! `d_k = d_model / heads` features. The attention weights `(batch, heads, steps, steps)` come
//! back from [`MultiHeadAttention::forward_with_weights`] for inspection and heatmaps.
//! A key mask (`0` to keep, a large negative number to ignore, e.g. padding) is added to the
//! scores before the softmax.
//!
//! The generic code below runs on every device; on `Cpu`, `scaled_dot_product_attention` runs
//! `kernels::attention` instead (the same formula per batch and head, softmax and backward
//! fused), checked against it and against finite differences.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let q = dev.tensor_from_vec(vec![1.0f32], (1, 1, 1, 1)); // (batch, heads, steps, d_k)
//! let k = dev.tensor_from_vec(vec![1.0f32, 1.0], (1, 1, 2, 1));
//! let v = dev.tensor_from_vec(vec![2.0f32, 4.0], (1, 1, 2, 1));
//! // Equal scores, equal weights: the output is the mean of the values.
//! let (out, weights) = scaled_dot_product_attention(q.clone(), k.clone(), v.clone(), None);
//! assert_eq!((weights.as_vec(), out.as_vec()), (vec![0.5, 0.5], vec![3.0]));
//! // Masking the second key leaves only the first value.
//! let mask = dev.tensor_from_vec(vec![0.0f32, -1e9], (1, 2));
//! let (out, _) = scaled_dot_product_attention(q, k, v, Some(&mask));
//! assert_eq!(out.as_vec(), [2.0]);
//! ```

use super::{tapes::*, Dense, Dyn2, Dyn3, Dyn4, Real, Settings};
use crate::{Error, Result};
use dfdx::prelude::*;

// Defined beside the kernel that returns them, so the kernel needs nothing from this module.
pub(crate) use super::kernels::attention::MaybeWeights;
pub use super::kernels::attention::WithWeights;

/// `softmax(Q Kᵀ / √d_k + mask) V` over `(batch, heads, steps, d_k)` tensors.
///
/// Returns the output `(batch, heads, steps_q, d_k)` and the weights `(batch, heads, steps_q, steps_k)`.
/// `mask`, if given, is `(batch, steps_k)` and is added to every query's scores.
pub fn scaled_dot_product_attention<E: Real, D: Device<E>, T: Tape<E, D>>(
    q: Tensor<Dyn4, E, D, T>,
    k: Tensor<Dyn4, E, D, T>,
    v: Tensor<Dyn4, E, D, T>,
    mask: Option<&Tensor<Dyn2, E, D>>,
) -> WithWeights<Dyn4, E, D, T> {
    if super::kernels::cpu_path::<E, D>() {
        // The same formula per (batch, head) block, with a fused softmax and backward.
        return super::kernels::attention::attention(q, k, v, mask);
    }
    let d_k = q.shape().3;
    let scale = E::from_f64(1.0 / (d_k as f64).sqrt()).unwrap();
    let kt = k.permute::<Dyn4, Axes4<0, 1, 3, 2>>(); // (B, H, S, d_k) -> (B, H, d_k, S)
    let scores = q.matmul(kt) * scale; // (B, H, S, d_k) x (B, H, d_k, S) -> (B, H, S, S)
    let scores = match mask {
        Some(m) => {
            let shape = *scores.shape();
            scores + m.retaped::<T>().broadcast_like::<Dyn4, Axes2<1, 2>>(&shape)
        }
        None => scores,
    };
    let weights = scores.softmax::<Axis<3>>();
    let (weights, tape) = weights.split_tape();
    let out = weights.clone().put_tape(tape).matmul(v); // (B, H, S, S) x (B, H, S, d_k) -> (B, H, S, d_k)
    (out, weights)
}

/// How to build a [`MultiHeadAttention`]: the model width and the number of heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionConfig {
    pub d_model: usize,
    pub heads: usize,
}

impl Default for AttentionConfig {
    /// The benchmark's encoder: d 64, 4 heads.
    fn default() -> Self {
        Self {
            d_model: 64,
            heads: 4,
        }
    }
}

/// Multi-head self-attention: four `d_model × d_model` projections `W_Q, W_K, W_V, W_O` with biases.
#[derive(Debug, Clone)]
pub struct MultiHeadAttention<E: Dtype, D: Storage<E>> {
    pub w_q: Dense<E, D>,
    pub w_k: Dense<E, D>,
    pub w_v: Dense<E, D>,
    pub w_o: Dense<E, D>,
    /// `[heads]`.
    pub settings: Settings<E, D>,
}

impl<E: Real, D: Device<E>> MultiHeadAttention<E, D> {
    pub fn new(dev: &D, d_model: usize, heads: usize) -> Result<Self> {
        if heads == 0 || !d_model.is_multiple_of(heads) {
            let why = format!("d_model {d_model} must be a multiple of the number of heads {heads}");
            return Err(Error::config("MultiHeadAttention", why));
        }
        Ok(Self {
            w_q: Dense::new(dev, d_model, d_model),
            w_k: Dense::new(dev, d_model, d_model),
            w_v: Dense::new(dev, d_model, d_model),
            w_o: Dense::new(dev, d_model, d_model),
            settings: Settings::new(dev, &[heads as f64]),
        })
    }

    /// [`Self::new`] from a config.
    pub fn from_config(dev: &D, cfg: AttentionConfig) -> Result<Self> {
        Self::new(dev, cfg.d_model, cfg.heads)
    }

    pub fn config(&self) -> AttentionConfig {
        AttentionConfig {
            d_model: self.d_model(),
            heads: self.heads(),
        }
    }

    pub fn heads(&self) -> usize {
        self.settings.count(0)
    }

    pub fn d_model(&self) -> usize {
        self.w_q.units()
    }

    /// Self-attention over `x` `(batch, steps, d_model)`, with an optional key mask `(batch, steps)`.
    /// Returns the output and the attention weights `(batch, heads, steps, steps)`.
    pub fn forward_with_weights<T: Tape<E, D>>(
        &self,
        x: Tensor<Dyn3, E, D, T>,
        mask: Option<&Tensor<Dyn2, E, D>>,
    ) -> Result<WithWeights<Dyn3, E, D, T>> {
        let (y, weights) = self.forward_maybe_weights(x, mask, true)?;
        Ok((y, weights.expect("weights were asked for")))
    }

    /// [`Self::forward_with_weights`], with the weights only when `want_weights`: on `Cpu` they
    /// are a copy of `B·H·T²` values that training does not need.
    pub(crate) fn forward_maybe_weights<T: Tape<E, D>>(
        &self,
        x: Tensor<Dyn3, E, D, T>,
        mask: Option<&Tensor<Dyn2, E, D>>,
        want_weights: bool,
    ) -> Result<MaybeWeights<Dyn3, E, D, T>> {
        use super::OutputShape;
        let [b, s, d] = <[usize; 3]>::try_from(self.output_shape(&x.shape().concrete())?).unwrap();
        if let Some(m) = mask {
            if m.shape().concrete() != [b, s] {
                return Err(Error::shape(
                    "MultiHeadAttention mask",
                    format!("({b}, {s})"),
                    &m.shape().concrete(),
                ));
            }
        }
        let h = self.heads();
        let d_k = d / h;
        if super::kernels::cpu_path::<E, D>() {
            // Same formula; Q, K and V come from one GEMM with the three weights stacked, and
            // the kernel reads each head out of it by stride, so neither the split into heads
            // nor the concatenation copies anything.
            let w = [&self.w_q, &self.w_k, &self.w_v];
            let (concat, weights) = super::kernels::attention::self_attention(x, w, h, mask, want_weights);
            return Ok((self.w_o.try_forward(concat)?, weights));
        }
        let mut tapes = T::default();
        let x = untape(x, &mut tapes);
        // (B, S, D) -> (B, S, H, d_k) -> (B, H, S, d_k): each head sees its own d_k features.
        let heads = |t: Tensor<Dyn3, E, D, T>| {
            t.reshape_like(&(b, s, h, d_k))
                .permute::<Dyn4, Axes4<0, 2, 1, 3>>()
        };
        let q = heads(self.w_q.try_forward(x.retaped::<T>())?);
        let k = heads(self.w_k.try_forward(x.retaped::<T>())?);
        let v = heads(self.w_v.try_forward(x.retaped::<T>())?);
        let (out, weights) = scaled_dot_product_attention(q, k, v, mask);
        let concat = out.permute::<Dyn4, Axes4<0, 2, 1, 3>>().reshape_like(&(b, s, d)); // (B, H, S, d_k) -> (B, S, D)
        let y = self.w_o.try_forward(concat)?;
        Ok((with_tapes(y, tapes), Some(weights)))
    }
}

impl<E: Real, D: Device<E>> super::OutputShape for MultiHeadAttention<E, D> {
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input {
            [_, s, d] if *d == self.d_model() && *s > 0 => Ok(input.to_vec()),
            _ => Err(Error::shape(
                "MultiHeadAttention",
                format!("(batch, steps, {})", self.d_model()),
                input,
            )),
        }
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for MultiHeadAttention<E, D> {
    type Output = Tensor<Dyn3, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        Ok(self.forward_maybe_weights(x, None, false)?.0)
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for MultiHeadAttention<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = MultiHeadAttention<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("w_q", |s| &s.w_q, |s| &mut s.w_q),
                Self::module("w_k", |s| &s.w_k, |s| &mut s.w_k),
                Self::module("w_v", |s| &s.w_v, |s| &mut s.w_v),
                Self::module("w_o", |s| &s.w_o, |s| &mut s.w_o),
                Self::module("settings", |s| &s.settings, |s| &mut s.settings),
            ),
            |(w_q, w_k, w_v, w_o, settings)| MultiHeadAttention {
                w_q,
                w_k,
                w_v,
                w_o,
                settings,
            },
        )
    }
}
