//! Keras-style training for the book's models: [`fit`], [`evaluate`], [`predict`], a
//! [`History`] that plots itself, callbacks, progress observers, checkpoints, and a cancel
//! flag that Ctrl-C or a notebook interrupt sets.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::seed_from_u64(0);
//! let data = ferrolab::data::digits_28x28().stratified_split(0.2, 42)?;
//! let mut model = Cnn::<f32, Cpu>::new(&dev);
//! let cfg = FitConfig::default().epochs(2).validation_split(0.1).verbose(Verbose::Silent);
//! let history = fit(&mut model, &data.train, &cfg)?;
//! let test = evaluate(&model, &data.test, 128)?;
//! assert_eq!(history.val_accuracy.len(), 2);
//! assert!(test.accuracy > 0.5, "{test:?}"); // ten classes: chance is 0.1
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Any model that implements [`Classifier`] and maps its input to `(batch, classes)` logits
//! trains here. Not covered: regression or multi-label targets, mixed precision, several
//! devices, learning-rate schedules.

mod callbacks;
mod cancel;
mod checkpoint;
mod config;
mod error;
mod feed;
mod fit;
mod history;
mod keras;
mod observer;
mod restore;
mod walk;

pub use callbacks::{Callback, Control, CsvLogger, EarlyStopping, Mode, ModelCheckpoint};
pub use cancel::{cancel_flag, install_sigint_handler, is_cancelled, request_cancel, reset_cancel};
pub use checkpoint::{
    check_checkpoint, load_checkpoint, read_sidecar, save_checkpoint, save_checkpoint_with_hook,
    sidecar_path, write_file_atomically, CheckpointMeta,
};
pub use config::{FitConfig, Optimizer, Validation, Verbose};
pub use error::{TrainError, TrainResult};
pub use feed::{Classifier, FeatureInput, Feed, ImageInput, Logits, SequenceInput, TokenInput, Trainable};
pub use fit::{evaluate, fit, fit_with, predict, predict_proba};
pub use history::{EpochLogs, History, Metrics, StopReason, METRIC_NAMES};
pub use keras::Keras;
pub use observer::{BatchProgress, LiveCurves, Observer, Plan, Silent, TextProgress};
pub use restore::{softmax_rows, RestoredClassifier};
pub use walk::{tensor_specs, TensorSpec};
