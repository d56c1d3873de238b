//! The book's layers, each a dfdx module with runtime sizes, usable with dfdx's
//! optimizers and safetensors save/load, in f32 or f64, on the Cpu (or Cuda) device.
//!
//! Every layer is built from a config (`Conv2DConfig::new(1, 32, 3)`), checks the shape
//! of what it is given (a wrong shape is an [`Error::Shape`](crate::Error) that names the
//! layer, never a panic deep inside dfdx) and documents its formula from the book.
//!
//! Layers are written with dfdx's generic tensor ops, so they run on every dfdx device.
//! On dfdx's `Cpu`, Conv2D, pooling, SimpleRnn, Lstm, Dense, LayerNorm and attention switch to the hand-written kernels of
//! [`kernels`] (same API, same formulas, own backward); see that module for how and why.

pub mod activation;
pub mod attention;
pub mod conv;
pub mod dense;
pub mod embedding;
pub mod flatten;
pub mod kernels;
pub mod lstm;
pub mod norm;
pub mod pool;
pub mod recurrence;
pub mod rnn;
pub mod settings;
pub mod transformer;

mod tapes;

pub(crate) use tapes::with_tapes;

pub use activation::gelu;
pub use attention::{scaled_dot_product_attention, AttentionConfig, MultiHeadAttention};
pub use conv::{Conv2D, Conv2DConfig};
pub use dense::Dense;
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use lstm::Lstm;
pub use norm::{LayerNorm, LayerNormConfig};
pub use pool::{AvgPool2D, MaxPool2D};
pub use rnn::{LastState, RnnOutput, Sequences, SimpleRnn};
pub use settings::Settings;
pub use transformer::{Activation, EncoderBlock, EncoderConfig, FeedForward, FeedForwardConfig};

use dfdx::prelude::*;

/// Element types the layers compute in: `f32` or `f64`.
pub trait Real:
    Dtype
    + num_traits::Float
    + rand_distr::uniform::SampleUniform
    + dfdx::tensor::safetensors::SafeDtype
    + kernels::math::KernelMath
{
}
impl Real for f32 {}
impl Real for f64 {}

/// Shapes with runtime sizes: `(batch, features)`, `(batch, steps, features)`,
/// `(batch, channels, height, width)`.
pub type Dyn1 = (usize,);
pub type Dyn2 = (usize, usize);
pub type Dyn3 = (usize, usize, usize);
pub type Dyn4 = (usize, usize, usize, usize);

/// A layer's shape rule: what it outputs for an input shape, or why it cannot take it.
///
/// `forward` checks its input with this before touching dfdx, and `summary()` uses it
/// to print each layer's output shape.
pub trait OutputShape {
    fn output_shape(&self, input: &[usize]) -> crate::Result<Vec<usize>>;
}

/// Glorot (Xavier) uniform initialisation, Keras's default for Dense, Conv and RNN kernels:
/// `U(-l, l)` with `l = sqrt(6 / (fan_in + fan_out))`.
pub(crate) fn glorot<S: Shape, E: Real, D: Device<E>>(
    dev: &D,
    shape: S,
    fan_in: usize,
    fan_out: usize,
) -> Tensor<S, E, D> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    let limit = E::from_f64(limit).unwrap();
    dev.sample_like(&shape, rand_distr::Uniform::new(-limit, limit))
}

/// Options for a trainable tensor with a runtime shape. dfdx's `reset_params` re-draws
/// it uniformly in ±1/sqrt(fan_in), with fan_in read from the tensor's own shape.
pub(crate) fn trainable<S: Shape, E: Real, D: Device<E>>() -> TensorOptions<S, E, D> {
    runtime_options(true, |t| {
        let dims = t.shape().concrete();
        let fan_in: usize = dims.into_iter().skip(1).product::<usize>().max(1);
        let b = E::ONE / E::from_usize(fan_in).unwrap().sqrt();
        t.try_fill_with_distr(rand_distr::Uniform::new(-b, b))
    })
}

/// Options for a trainable tensor that resets to zeros (biases, LayerNorm's beta).
pub(crate) fn trainable_zeros<S: Shape, E: Real, D: Device<E>>() -> TensorOptions<S, E, D> {
    runtime_options(true, |t| t.try_fill_with_zeros())
}

/// Options for a trainable tensor that resets to ones (LayerNorm's gamma).
pub(crate) fn trainable_ones<S: Shape, E: Real, D: Device<E>>() -> TensorOptions<S, E, D> {
    runtime_options(true, |t| t.try_fill_with_ones())
}

/// dfdx 0.13 builds `TensorOptions` only for compile-time shapes (its constructors require
/// `ConstShape` and the struct is `#[non_exhaustive]`), but every visitor we use (optimizers,
/// safetensors, parameter counts, device moves) works on runtime shapes too: only
/// `BuildModule` reads `shape`, and our layers are built with `new` instead.
type ResetFn<S, E, D> = fn(&mut Tensor<S, E, D>) -> Result<(), <D as HasErr>::Err>;

pub(crate) fn runtime_options<S: Shape, E: Real, D: Device<E>>(
    trainable: bool,
    reset: ResetFn<S, E, D>,
) -> TensorOptions<S, E, D> {
    let shape = S::from_concrete(&Default::default()).expect("a shape of runtime dims");
    let mut opts = std::mem::MaybeUninit::<TensorOptions<S, E, D>>::uninit();
    let p = opts.as_mut_ptr();
    // SAFETY: dfdx is pinned to =0.13.0, whose TensorOptions has exactly these three public
    // fields (do_gradient_update, reset, shape); each is written before `assume_init`.
    unsafe {
        std::ptr::addr_of_mut!((*p).do_gradient_update).write(trainable);
        std::ptr::addr_of_mut!((*p).reset).write(reset);
        std::ptr::addr_of_mut!((*p).shape).write(shape);
        opts.assume_init()
    }
}

/// Checks a rank and returns the dims, or a shape error naming the layer.
pub(crate) fn expect_rank<const N: usize>(
    layer: &str,
    expected: &str,
    got: &[usize],
) -> crate::Result<[usize; N]> {
    <[usize; N]>::try_from(got).map_err(|_| crate::Error::shape(layer, expected, got))
}
