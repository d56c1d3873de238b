//! The Transformer encoder block (post-norm, as in the original Transformer and BERT):
//!
//! ```text
//! x = LayerNorm(x + MultiHeadAttention(x))
//! x = LayerNorm(x + FFN(x)),   FFN(x) = W_2 · act(W_1 x + b_1) + b_2
//! ```
//!
//! Shapes: `(batch, steps, d_model)` in and out. `act` is ReLU (original) or GELU (BERT).
//! No dropout: results stay reproducible, and the book's small models do not need it.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! // FFN(x) = W_2 relu(W_1 x) with W_1 = [1; −1], W_2 = [1 1]: relu(x) + relu(−x) = |x|.
//! let mut ffn = FeedForward::<f32, Cpu>::new(&dev, 1, 2, Activation::Relu);
//! ffn.w_1.weight = dev.tensor_from_vec(vec![1.0, -1.0], (2, 1));
//! ffn.w_1.bias = dev.zeros_like(&(2,));
//! ffn.w_2.weight = dev.tensor_from_vec(vec![1.0, 1.0], (1, 2));
//! ffn.w_2.bias = dev.zeros_like(&(1,));
//! let x = dev.tensor_from_vec(vec![-3.0, 2.0], (1, 2, 1)); // one sequence, two positions
//! assert_eq!(ffn.forward(x).as_vec(), [3.0, 2.0]);
//! // A block keeps the shape, and its last LayerNorm centres every position (β = 0).
//! let block = EncoderBlock::<f32, Cpu>::new(&dev, EncoderConfig::default())?;
//! let y = block.forward(dev.sample_normal_like(&(2, 3, 64)));
//! assert_eq!(*y.shape(), (2, 3, 64));
//! assert!(y.as_vec().chunks(64).all(|row| row.iter().sum::<f32>().abs() < 1e-3));
//! # Ok::<(), ferrolab::Error>(())
//! ```

use super::attention::{MaybeWeights, WithWeights};
use super::{tapes::*, Dense, Dyn2, Dyn3, LayerNorm, MultiHeadAttention, Real, Settings};
use crate::{Error, Result};
use dfdx::prelude::*;

/// The feed-forward network's non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    Relu,
    /// The exact GELU `x · Φ(x)`, as BERT uses.
    Gelu,
}

impl Activation {
    fn code(self) -> usize {
        match self {
            Activation::Relu => 0,
            Activation::Gelu => 1,
        }
    }

    /// The activation stored as `code`; any other code (a file from elsewhere) is an error.
    fn from_code(code: usize) -> Result<Self> {
        match code {
            0 => Ok(Activation::Relu),
            1 => Ok(Activation::Gelu),
            _ => Err(Error::config(
                "FeedForward settings",
                format!("unknown activation code {code} (0 is ReLU, 1 is GELU)"),
            )),
        }
    }
}

/// Sizes of one encoder block.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EncoderConfig {
    pub d_model: usize,
    pub heads: usize,
    pub d_ff: usize,
    pub activation: Activation,
    pub layer_norm_eps: f64,
}

impl Default for EncoderConfig {
    /// The benchmark's small encoder: d 64, 4 heads, feed-forward 256, ReLU.
    fn default() -> Self {
        Self {
            d_model: 64,
            heads: 4,
            d_ff: 256,
            activation: Activation::Relu,
            layer_norm_eps: 1e-5,
        }
    }
}

/// How to build a [`FeedForward`]: its widths and non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedForwardConfig {
    pub d_model: usize,
    pub d_ff: usize,
    pub activation: Activation,
}

impl Default for FeedForwardConfig {
    /// The benchmark's encoder: d 64, feed-forward 256, ReLU.
    fn default() -> Self {
        Self {
            d_model: 64,
            d_ff: 256,
            activation: Activation::Relu,
        }
    }
}

/// `W_2 · act(W_1 x + b_1) + b_2`, applied at every position.
#[derive(Debug, Clone)]
pub struct FeedForward<E: Dtype, D: Storage<E>> {
    pub w_1: Dense<E, D>,
    pub w_2: Dense<E, D>,
    /// `[activation]`: 0 ReLU, 1 GELU.
    pub settings: Settings<E, D>,
}

impl<E: Real, D: Device<E>> FeedForward<E, D> {
    pub fn new(dev: &D, d_model: usize, d_ff: usize, activation: Activation) -> Self {
        Self {
            w_1: Dense::new(dev, d_model, d_ff),
            w_2: Dense::new(dev, d_ff, d_model),
            settings: Settings::new(dev, &[activation.code() as f64]),
        }
    }

    /// [`Self::new`] from a config.
    pub fn from_config(dev: &D, cfg: FeedForwardConfig) -> Self {
        Self::new(dev, cfg.d_model, cfg.d_ff, cfg.activation)
    }

    pub fn config(&self) -> FeedForwardConfig {
        FeedForwardConfig {
            d_model: self.w_1.inputs(),
            d_ff: self.w_1.units(),
            activation: self.activation(),
        }
    }

    /// The non-linearity; an error when the settings hold no known activation (a damaged file).
    pub fn try_activation(&self) -> Result<Activation> {
        Activation::from_code(self.settings.count(0))
    }

    /// The non-linearity.
    ///
    /// # Panics
    /// When the settings hold no known activation (a damaged file); `forward` returns that
    /// as an error, and [`Self::try_activation`] does too.
    pub fn activation(&self) -> Activation {
        self.try_activation().unwrap_or_else(|e| panic!("{e}"))
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for FeedForward<E, D> {
    type Output = Tensor<Dyn3, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        let activation = self.try_activation()?;
        if super::kernels::cpu_path::<E, D>() && activation == Activation::Relu {
            // The same formula in one kernel: the hidden layer never becomes a tensor.
            use super::OutputShape;
            // The two layers' shape rules, so a mismatch is the same error as on the generic path.
            self.w_2
                .output_shape(&self.w_1.output_shape(&x.shape().concrete())?)?;
            let (batch, seq, _) = *x.shape();
            let out = (batch, seq, self.w_2.units());
            return Ok(super::kernels::feed_forward::relu(x, &self.w_1, &self.w_2, out));
        }
        let hidden = self.w_1.try_forward(x)?; // (B, S, D) -> (B, S, d_ff)
        let hidden = match activation {
            Activation::Relu => hidden.relu(),
            Activation::Gelu => super::gelu(hidden),
        };
        self.w_2.try_forward(hidden) // (B, S, d_ff) -> (B, S, D)
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for FeedForward<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = FeedForward<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("w_1", |s| &s.w_1, |s| &mut s.w_1),
                Self::module("w_2", |s| &s.w_2, |s| &mut s.w_2),
                Self::module("settings", |s| &s.settings, |s| &mut s.settings),
            ),
            |(w_1, w_2, settings)| FeedForward { w_1, w_2, settings },
        )
    }
}

/// One encoder block: self-attention and feed-forward, each with a residual and LayerNorm.
#[derive(Debug, Clone)]
pub struct EncoderBlock<E: Dtype, D: Storage<E>> {
    pub attention: MultiHeadAttention<E, D>,
    pub norm_1: LayerNorm<E, D>,
    pub feed_forward: FeedForward<E, D>,
    pub norm_2: LayerNorm<E, D>,
}

impl<E: Real, D: Device<E>> EncoderBlock<E, D> {
    pub fn new(dev: &D, cfg: EncoderConfig) -> Result<Self> {
        Ok(Self {
            attention: MultiHeadAttention::new(dev, cfg.d_model, cfg.heads)?,
            norm_1: LayerNorm::new(dev, cfg.d_model, cfg.layer_norm_eps),
            feed_forward: FeedForward::new(dev, cfg.d_model, cfg.d_ff, cfg.activation),
            norm_2: LayerNorm::new(dev, cfg.d_model, cfg.layer_norm_eps),
        })
    }

    /// The block with a key mask `(batch, steps)`; also returns the attention weights.
    pub fn forward_with_weights<T: Tape<E, D>>(
        &self,
        x: Tensor<Dyn3, E, D, T>,
        mask: Option<&Tensor<Dyn2, E, D>>,
    ) -> Result<WithWeights<Dyn3, E, D, T>> {
        let (y, weights) = self.forward_maybe_weights(x, mask, true)?;
        Ok((y, weights.expect("weights were asked for")))
    }

    /// The block, with the attention weights only when `want_weights` (see `MultiHeadAttention`).
    pub(crate) fn forward_maybe_weights<T: Tape<E, D>>(
        &self,
        x: Tensor<Dyn3, E, D, T>,
        mask: Option<&Tensor<Dyn2, E, D>>,
        want_weights: bool,
    ) -> Result<MaybeWeights<Dyn3, E, D, T>> {
        let mut tapes = T::default();
        let x = untape(x, &mut tapes);
        let (a, weights) = self
            .attention
            .forward_maybe_weights(x.retaped::<T>(), mask, want_weights)?;
        let x = self.norm_1.forward_sum(a, x.retaped::<T>())?; // x = LN(x + MHA(x))
        let x = untape(x, &mut tapes);
        let f = self.feed_forward.try_forward(x.retaped::<T>())?;
        let x = self.norm_2.forward_sum(f, x.retaped::<T>())?; // x = LN(x + FFN(x))
        Ok((with_tapes(x, tapes), weights))
    }
}

impl<E: Real, D: Device<E>> super::OutputShape for EncoderBlock<E, D> {
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.attention.output_shape(input).map_err(|e| match e {
            Error::Shape { expected, got, .. } => Error::Shape {
                layer: "EncoderBlock".into(),
                expected,
                got,
            },
            e => e,
        })
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for EncoderBlock<E, D> {
    type Output = Tensor<Dyn3, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        Ok(self.forward_maybe_weights(x, None, false)?.0)
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for EncoderBlock<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = EncoderBlock<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("attention", |s| &s.attention, |s| &mut s.attention),
                Self::module("norm_1", |s| &s.norm_1, |s| &mut s.norm_1),
                Self::module("feed_forward", |s| &s.feed_forward, |s| &mut s.feed_forward),
                Self::module("norm_2", |s| &s.norm_2, |s| &mut s.norm_2),
            ),
            |(attention, norm_1, feed_forward, norm_2)| EncoderBlock {
                attention,
                norm_1,
                feed_forward,
                norm_2,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_activation_code_is_an_error_not_relu() {
        let dev = Cpu::default();
        let mut ff = FeedForward::<f32, Cpu>::new(&dev, 4, 8, Activation::Gelu);
        assert_eq!(ff.config().activation, Activation::Gelu);
        // A file whose settings hold code 7, as a damaged or foreign checkpoint might.
        let path = std::env::temp_dir().join(format!("ferrolab-ff-{}.safetensors", std::process::id()));
        Settings::<f32, Cpu>::new(&dev, &[7.0])
            .save_safetensors(&path)
            .unwrap();
        ff.settings.load_safetensors(&path).unwrap();
        std::fs::remove_file(&path).ok();
        let err = ff.try_forward(dev.zeros_like(&(1, 2, 4))).unwrap_err();
        assert!(err.to_string().contains("unknown activation code 7"), "{err}");
    }
}
