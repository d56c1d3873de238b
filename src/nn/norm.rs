//! Layer normalisation, Keras `LayerNormalization()`: over the last axis of each position,
//!
//! `y = (x − μ) / sqrt(σ² + ε) · γ + β`, with μ and σ² the mean and (biased) variance of `x`'s features.
//!
//! Shapes: `(batch, features)` or `(batch, steps, features)`, unchanged. `γ` starts at 1, `β` at 0.
//!
//! Written with dfdx's `normalize` and broadcasts (any device); on `Cpu` the same formula runs
//! as one pass per row with a hand-written backward (`kernels::rows`).
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let norm = LayerNorm::<f64, Cpu>::new(&dev, 2, 1e-3); // γ = 1, β = 0
//! let x = dev.tensor_from_vec(vec![1.0, 3.0], (1, 2)); // μ = 2, σ² = 1
//! let y = norm.forward(x).as_vec();
//! let r = 1.0 / (1.0_f64 + 1e-3).sqrt();
//! assert!((y[0] + r).abs() < 1e-12 && (y[1] - r).abs() < 1e-12); // (x − μ)·r = [−r, r]
//! ```

use super::{trainable_ones, trainable_zeros, Dyn1, Dyn2, Dyn3, Real, Settings};
use crate::{Error, Result};
use dfdx::prelude::*;

/// How to build a [`LayerNorm`]: the features normalised and ε.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerNormConfig {
    pub features: usize,
    pub epsilon: f64,
}

impl Default for LayerNormConfig {
    /// 64 features, Keras's ε = 1e-3.
    fn default() -> Self {
        Self {
            features: 64,
            epsilon: 1e-3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LayerNorm<E: Dtype, D: Storage<E>> {
    pub gamma: Tensor<Dyn1, E, D>,
    pub beta: Tensor<Dyn1, E, D>,
    /// `[ε]`.
    pub settings: Settings<E, D>,
}

impl<E: Real, D: Device<E>> LayerNorm<E, D> {
    /// Keras's default ε is 1e-3; BERT uses 1e-12.
    pub fn new(dev: &D, features: usize, epsilon: f64) -> Self {
        Self {
            gamma: dev.ones_like(&(features,)),
            beta: dev.zeros_like(&(features,)),
            settings: Settings::new(dev, &[epsilon]),
        }
    }

    /// `γ = 1`, `β = 0` for `cfg.features`, with `cfg.epsilon`.
    pub fn from_config(dev: &D, cfg: LayerNormConfig) -> Self {
        Self::new(dev, cfg.features, cfg.epsilon)
    }

    pub fn config(&self) -> LayerNormConfig {
        LayerNormConfig {
            features: self.features(),
            epsilon: self.epsilon(),
        }
    }

    pub fn epsilon(&self) -> f64 {
        self.settings.get(0)
    }

    pub fn features(&self) -> usize {
        self.gamma.shape().0
    }

    /// The same formula in one pass per row, with its backward (see `kernels::rows`).
    fn cpu_forward<S: Shape, T: Tape<E, D>>(&self, x: Tensor<S, E, D, T>) -> Tensor<S, E, D, T> {
        let eps = E::from_f64(self.epsilon()).unwrap();
        super::kernels::rows::layer_norm(x, &self.gamma, &self.beta, eps)
    }

    /// `LayerNorm(a + b)`: a residual connection and its norm. On `Cpu` one pass, without the
    /// sum as a tensor of its own (`kernels::rows::layer_norm_of_sum`).
    pub(crate) fn forward_sum<T: Tape<E, D>>(
        &self,
        a: Tensor<Dyn3, E, D, T>,
        b: Tensor<Dyn3, E, D, T>,
    ) -> Result<Tensor<Dyn3, E, D, T>> {
        self.check(&a.shape().concrete())?;
        if super::kernels::cpu_path::<E, D>() && a.shape() == b.shape() {
            let eps = E::from_f64(self.epsilon()).unwrap();
            return Ok(super::kernels::rows::layer_norm_of_sum(
                [a, b],
                &self.gamma,
                &self.beta,
                eps,
            ));
        }
        self.try_forward(a + b)
    }

    fn check(&self, got: &[usize]) -> Result<()> {
        match got.last() {
            Some(&n) if n == self.features() && (got.len() == 2 || got.len() == 3) => Ok(()),
            _ => Err(Error::shape(
                "LayerNorm",
                format!("(batch, …, {})", self.features()),
                got,
            )),
        }
    }
}

impl<E: Real, D: Device<E>> super::OutputShape for LayerNorm<E, D> {
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.check(input)?;
        Ok(input.to_vec())
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for LayerNorm<E, D> {
    type Output = Tensor<Dyn3, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        self.check(&x.shape().concrete())?;
        if super::kernels::cpu_path::<E, D>() {
            return Ok(self.cpu_forward(x));
        }
        let shape = *x.shape();
        let x_hat = x.normalize::<Axis<2>>(self.epsilon()); // (x − μ) / sqrt(σ² + ε)
        let gamma = self
            .gamma
            .retaped::<T>()
            .broadcast_like::<Dyn3, Axes2<0, 1>>(&shape);
        let beta = self
            .beta
            .retaped::<T>()
            .broadcast_like::<Dyn3, Axes2<0, 1>>(&shape);
        Ok(x_hat * gamma + beta)
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn2, E, D, T>> for LayerNorm<E, D> {
    type Output = Tensor<Dyn2, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn2, E, D, T>) -> Result<Self::Output> {
        self.check(&x.shape().concrete())?;
        if super::kernels::cpu_path::<E, D>() {
            return Ok(self.cpu_forward(x));
        }
        let shape = *x.shape();
        let x_hat = x.normalize::<Axis<1>>(self.epsilon());
        let gamma = self.gamma.retaped::<T>().broadcast_like::<Dyn2, Axis<0>>(&shape);
        let beta = self.beta.retaped::<T>().broadcast_like::<Dyn2, Axis<0>>(&shape);
        Ok(x_hat * gamma + beta)
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for LayerNorm<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = LayerNorm<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor("gamma", |s| &s.gamma, |s| &mut s.gamma, trainable_ones()),
                Self::tensor("beta", |s| &s.beta, |s| &mut s.beta, trainable_zeros()),
                Self::module("settings", |s| &s.settings, |s| &mut s.settings),
            ),
            |(gamma, beta, settings)| LayerNorm {
                gamma,
                beta,
                settings,
            },
        )
    }
}
