//! [`FitConfig`]: the settings of one `fit` call, built Keras-style with chained setters.
//!
//! ```
//! use ferrolab::train::{FitConfig, Optimizer};
//! let cfg = FitConfig::default().epochs(5).batch_size(32).validation_split(0.1)
//!     .optimizer(Optimizer::Sgd { momentum: 0.9 }).learning_rate(0.01);
//! assert_eq!(cfg.epochs, 5);
//! ```
//!
//! The optimizer's state (Adam's moments) lives for one `fit` call: a second call starts
//! it afresh, while the model keeps its weights.

use std::sync::Arc;

use super::error::{TrainError, TrainResult};
use crate::data::Dataset;

/// Which dfdx optimizer updates the weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// Adam with β = (0.9, 0.999), ε = 1e-8.
    Adam,
    /// Plain SGD, with classical momentum when `momentum > 0`.
    Sgd { momentum: f64 },
    /// RMSprop with α = 0.9, ε = 1e-7 (Keras's defaults).
    RmsProp,
}

/// How `fit` reports progress when no observer is given (see `fit_with` for one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbose {
    Silent,
    /// One text line per epoch on stdout.
    Lines,
    /// Live curves in a notebook (a display redrawn as training goes).
    Live,
}

/// Where validation data comes from.
#[derive(Clone)]
pub enum Validation {
    None,
    /// This share of the training data, split off class by class with the fit's seed.
    Split(f64),
    /// A separate dataset.
    Data(Arc<dyn Dataset>),
}

impl std::fmt::Debug for Validation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validation::None => write!(f, "None"),
            Validation::Split(share) => write!(f, "Split({share})"),
            Validation::Data(d) => write!(f, "Data({} items)", d.len()),
        }
    }
}

/// Settings of one training run. Defaults: 10 epochs, batch 32, Adam at 0.001, seed 42,
/// shuffled every epoch, no validation, one line per epoch.
#[derive(Debug, Clone)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub learning_rate: f64,
    /// Seeds the per-epoch shuffles and the validation split.
    pub seed: u64,
    pub shuffle: bool,
    pub validation: Validation,
    pub verbose: Verbose,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            epochs: 10,
            batch_size: 32,
            optimizer: Optimizer::Adam,
            learning_rate: 1e-3,
            seed: 42,
            shuffle: true,
            validation: Validation::None,
            verbose: Verbose::Lines,
        }
    }
}

impl FitConfig {
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    pub fn optimizer(mut self, optimizer: Optimizer) -> Self {
        self.optimizer = optimizer;
        self
    }

    pub fn learning_rate(mut self, learning_rate: f64) -> Self {
        self.learning_rate = learning_rate;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Holds out this share (0..1) of the training data for validation.
    pub fn validation_split(mut self, share: f64) -> Self {
        self.validation = Validation::Split(share);
        self
    }

    /// Validates on `data` after every epoch.
    pub fn validation_data(mut self, data: impl Dataset + 'static) -> Self {
        self.validation = Validation::Data(Arc::new(data));
        self
    }

    pub fn verbose(mut self, verbose: Verbose) -> Self {
        self.verbose = verbose;
        self
    }

    /// Rejects settings that cannot train, naming the setting.
    pub fn check(&self) -> TrainResult<()> {
        if self.batch_size == 0 {
            return Err(TrainError::config("FitConfig.batch_size", "must be at least 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            let why = format!("must be a positive number, got {}", self.learning_rate);
            return Err(TrainError::config("FitConfig.learning_rate", why));
        }
        if let Validation::Split(share) = self.validation {
            if !(share > 0.0 && share < 1.0) {
                let why = format!("must be between 0 and 1 (exclusive), got {share}");
                return Err(TrainError::config("FitConfig.validation_split", why));
            }
        }
        Ok(())
    }
}
