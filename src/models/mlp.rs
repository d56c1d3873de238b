//! A small multilayer perceptron for the concepts chapter:
//!
//! ```text
//! Dense(hidden, relu) → Dense(hidden, relu) → Dense(classes)
//! ```
//!
//! Input `(batch, features)`, output `(batch, classes)` logits. `Mlp::new(&dev, 64, 32, 10)`
//! fits the 8×8 digits; `Mlp::new(&dev, 784, 256, 10)` is the classic MNIST MLP.

use super::params;
use crate::nn::{Dense, Dyn2, Real};
use crate::summary::{Summary, SummaryBuilder};
use crate::{Error, Result};
use dfdx::prelude::*;

#[derive(Debug, Clone)]
pub struct Mlp<E: Dtype, D: Storage<E>> {
    pub hidden_1: Dense<E, D>,
    pub hidden_2: Dense<E, D>,
    pub output: Dense<E, D>,
}

impl<E: Real, D: Device<E>> Mlp<E, D> {
    pub fn new(dev: &D, features: usize, hidden: usize, classes: usize) -> Self {
        Self {
            hidden_1: Dense::new(dev, features, hidden),
            hidden_2: Dense::new(dev, hidden, hidden),
            output: Dense::new(dev, hidden, classes),
        }
    }

    pub fn summary(&self) -> Summary {
        let build = || -> Result<Summary> {
            Ok(SummaryBuilder::new("mlp", &[self.hidden_1.inputs()])
                .layer("dense", "Dense", &self.hidden_1, params(&self.hidden_1))?
                .layer("dense_1", "Dense", &self.hidden_2, params(&self.hidden_2))?
                .layer("dense_2", "Dense", &self.output, params(&self.output))?
                .build())
        };
        build().expect("the model's own layers fit together")
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn2, E, D, T>> for Mlp<E, D> {
    type Output = Tensor<Dyn2, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn2, E, D, T>) -> Result<Self::Output> {
        let x = self.hidden_1.try_forward(x)?.relu(); // (B, F) -> (B, H)
        let x = self.hidden_2.try_forward(x)?.relu(); // -> (B, H)
        self.output.try_forward(x) // -> (B, classes)
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for Mlp<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Mlp<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("hidden_1", |s| &s.hidden_1, |s| &mut s.hidden_1),
                Self::module("hidden_2", |s| &s.hidden_2, |s| &mut s.hidden_2),
                Self::module("output", |s| &s.output, |s| &mut s.output),
            ),
            |(hidden_1, hidden_2, output)| Mlp {
                hidden_1,
                hidden_2,
                output,
            },
        )
    }
}
