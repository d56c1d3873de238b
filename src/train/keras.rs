//! Keras's methods on the book's models: `model.fit(&data, &cfg)`, `model.evaluate(&data,
//! 256)`, `model.predict(…)`, `model.predict_proba(…)`.
//!
//! They are [`fit`], [`evaluate`], [`predict`] and [`predict_proba`] instantiated here,
//! once, for each book model on the CPU in `f32`, with the data behind `&dyn Dataset`. A
//! generic function is compiled again in every crate that calls it, and a notebook cell is
//! such a crate: a cell calling `fit(&mut cnn, …)` monomorphises the whole training loop,
//! the model's forward and backward passes and the optimizer at opt-level 3 before its
//! first batch. A cell calling `cnn.fit(…)` links to the copy compiled with the library.
//!
//! Other models and devices use the free functions, which accept any [`Trainable`] model.
//!
//! ```
//! use ferrolab::prelude::*;
//! let data = ferrolab::data::digits().stratified_split(0.2, 7)?;
//! let mut model = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(1), 64, 32, 10);
//! let history = model.fit(&data.train, &FitConfig::default().epochs(3).verbose(Verbose::Silent))?;
//! assert!(history.loss[2] < history.loss[0]);
//! assert_eq!(model.predict(&data.test, 64)?.len(), data.test.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use dfdx::prelude::Cpu;

use super::config::FitConfig;
use super::error::TrainResult;
use super::feed::Trainable;
use super::fit::{evaluate, fit, predict, predict_proba};
use super::history::{History, Metrics};
use crate::data::Dataset;
use crate::models::{BertClassifier, Cnn, Mlp, StackedLstm};

/// `fit`, `evaluate`, `predict` and `predict_proba` as methods, compiled with the library.
pub trait Keras: Trainable {
    /// Trains the model on `data` as `cfg` says; see [`fit`].
    fn fit(&mut self, data: &dyn Dataset, cfg: &FitConfig) -> TrainResult<History>;

    /// Loss and accuracy on `data`; see [`evaluate`].
    fn evaluate(&self, data: &dyn Dataset, batch_size: usize) -> TrainResult<Metrics>;

    /// The predicted class of every item; see [`predict`].
    fn predict(&self, data: &dyn Dataset, batch_size: usize) -> TrainResult<Vec<usize>>;

    /// Class probabilities of every item, one row per item; see [`predict_proba`].
    fn predict_proba(&self, data: &dyn Dataset, batch_size: usize) -> TrainResult<Vec<Vec<f64>>>;
}

/// Non-generic impls, so their code is generated in this crate, not in the caller's.
macro_rules! compiled_with_the_library {
    ($($model:ty),* $(,)?) => {$(
        impl Keras for $model {
            fn fit(&mut self, data: &dyn Dataset, cfg: &FitConfig) -> TrainResult<History> {
                fit(self, &data, cfg)
            }

            fn evaluate(&self, data: &dyn Dataset, batch_size: usize) -> TrainResult<Metrics> {
                evaluate(self, &data, batch_size)
            }

            fn predict(&self, data: &dyn Dataset, batch_size: usize) -> TrainResult<Vec<usize>> {
                predict(self, &data, batch_size)
            }

            fn predict_proba(&self, data: &dyn Dataset, batch_size: usize) -> TrainResult<Vec<Vec<f64>>> {
                predict_proba(self, &data, batch_size)
            }
        }
    )*};
}

// The book's models as its chapters build them; BERT with 2 blocks (chapters 3.3 and 4.3),
// 6 (all-MiniLM-L6-v2) and 12 (bert-base).
compiled_with_the_library!(
    Cnn<f32, Cpu>,
    Mlp<f32, Cpu>,
    StackedLstm<f32, Cpu>,
    BertClassifier<f32, Cpu, 2>,
    BertClassifier<f32, Cpu, 6>,
    BertClassifier<f32, Cpu, 12>,
);
