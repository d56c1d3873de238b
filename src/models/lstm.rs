//! The book's stacked LSTM (section 4.2) for sequence classification:
//!
//! ```text
//! LSTM(64, return_sequences=True) → LSTM(64) → Dense(10)
//! ```
//!
//! Input `(batch, 100 steps, 10 features)`, output `(batch, 10)` logits; 52,874 parameters, as in Keras.

use super::params;
use crate::nn::{Dense, Dyn2, Dyn3, LastState, Lstm, Real, Sequences, Settings};
use crate::summary::{Summary, SummaryBuilder};
use crate::{Error, Result};
use dfdx::prelude::*;

#[derive(Debug, Clone)]
pub struct StackedLstm<E: Dtype, D: Storage<E>> {
    pub lstm_1: Lstm<E, D, Sequences>,
    pub lstm_2: Lstm<E, D, LastState>,
    pub dense: Dense<E, D>,
    /// `[steps]`: the sequence length shown in the summary (any length works in `forward`).
    pub settings: Settings<E, D>,
}

impl<E: Real, D: Device<E>> StackedLstm<E, D> {
    /// The book's sizes: 100 steps of 10 features, 64 units twice, 10 classes.
    pub fn new(dev: &D) -> Self {
        Self::with_sizes(dev, 100, 10, 64, 10)
    }

    pub fn with_sizes(dev: &D, steps: usize, features: usize, units: usize, classes: usize) -> Self {
        Self {
            lstm_1: Lstm::new(dev, features, units),
            lstm_2: Lstm::new(dev, units, units),
            dense: Dense::new(dev, units, classes),
            settings: Settings::new(dev, &[steps as f64]),
        }
    }

    /// The sequence length the model was built for (and its summary shows).
    pub fn steps(&self) -> usize {
        self.settings.count(0)
    }

    pub fn summary(&self) -> Summary {
        let build = || -> Result<Summary> {
            Ok(
                SummaryBuilder::new("stacked_lstm", &[self.steps(), self.lstm_1.features()])
                    .layer("lstm", "LSTM", &self.lstm_1, params(&self.lstm_1))?
                    .layer("lstm_1", "LSTM", &self.lstm_2, params(&self.lstm_2))?
                    .layer("dense", "Dense", &self.dense, params(&self.dense))?
                    .build(),
            )
        };
        build().expect("the model's own layers fit together")
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for StackedLstm<E, D> {
    type Output = Tensor<Dyn2, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        let x = self.lstm_1.try_forward(x)?; // (B, 100, 10) -> (B, 100, 64)
        let x = self.lstm_2.try_forward(x)?; // -> (B, 64)
        self.dense.try_forward(x) // -> (B, 10)
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for StackedLstm<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = StackedLstm<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("lstm_1", |s| &s.lstm_1, |s| &mut s.lstm_1),
                Self::module("lstm_2", |s| &s.lstm_2, |s| &mut s.lstm_2),
                Self::module("dense", |s| &s.dense, |s| &mut s.dense),
                Self::module("settings", |s| &s.settings, |s| &mut s.settings),
            ),
            |(lstm_1, lstm_2, dense, settings)| StackedLstm {
                lstm_1,
                lstm_2,
                dense,
                settings,
            },
        )
    }
}
