//! Callbacks: code that runs inside `fit_with` at the start, after batches and epochs, and
//! at the end, and may stop training. Offered: [`EarlyStopping`], [`ModelCheckpoint`],
//! [`CsvLogger`]; implement [`Callback`] for your own.
//!
//! Callbacks see the model; observers (see `observer`) see only numbers. A callback's error
//! ends `fit_with` with that error.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::checkpoint::save_checkpoint;
use super::error::{TrainError, TrainResult};
use super::feed::Trainable;
use super::history::{EpochLogs, History, METRIC_NAMES};
use super::observer::BatchProgress;

/// What a callback asks of the loop after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// Hooks into the training loop; all but `on_epoch_end` do nothing unless overridden.
pub trait Callback<M> {
    /// Names the callback in `StopReason::Callback` and error messages.
    fn name(&self) -> String {
        let full = std::any::type_name::<Self>();
        let path = full.split('<').next().unwrap_or(full);
        path.rsplit("::").next().unwrap_or(path).to_string()
    }

    fn on_train_begin(&mut self, _model: &M) -> TrainResult<()> {
        Ok(())
    }

    fn on_batch_end(&mut self, _progress: &BatchProgress, _model: &M) -> TrainResult<()> {
        Ok(())
    }

    /// After each finished epoch (with its validation); return `Control::Stop` to end training.
    fn on_epoch_end(&mut self, logs: &EpochLogs, model: &M) -> TrainResult<Control>;

    /// Once at the end, also after a cancel; may change the model (restore weights).
    fn on_train_end(&mut self, _history: &History, _model: &mut M) -> TrainResult<()> {
        Ok(())
    }
}

/// Whether a metric improves downwards (losses) or upwards (accuracies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Min,
    Max,
}

impl Mode {
    /// Accuracies go up, everything else (losses) goes down.
    pub fn for_metric(name: &str) -> Mode {
        if name.contains("acc") {
            Mode::Max
        } else {
            Mode::Min
        }
    }

    /// Whether `value` beats `best` by more than `min_delta`.
    fn improves(self, value: f64, best: Option<f64>, min_delta: f64) -> bool {
        match (self, best) {
            (_, None) => value.is_finite(),
            (Mode::Min, Some(b)) => value < b - min_delta,
            (Mode::Max, Some(b)) => value > b + min_delta,
        }
    }
}

/// Reads `monitor` from the logs or says which metrics there are.
fn read_metric(owner: &str, monitor: &str, logs: &EpochLogs) -> TrainResult<f64> {
    logs.get(monitor).ok_or_else(|| TrainError::Callback {
        name: owner.into(),
        why: format!(
            "metric {monitor:?} is not in this run's logs (metrics: {}; val_ ones need validation data)",
            METRIC_NAMES.join(", ")
        ),
    })
}

/// Stops when `monitor` has not improved by more than `min_delta` for `patience` epochs
/// (Keras's rule; patience 0 stops at the first epoch without improvement);
/// can put back the best epoch's weights at the end (a clone of the model is kept).
#[derive(Debug, Clone)]
pub struct EarlyStopping<M> {
    pub monitor: String,
    pub patience: usize,
    pub min_delta: f64,
    pub mode: Mode,
    pub restore_best_weights: bool,
    best: Option<f64>,
    best_epoch: usize,
    wait: usize,
    stopped_epoch: Option<usize>,
    best_weights: Option<M>,
}

impl<M> EarlyStopping<M> {
    /// Watches `monitor` (`"val_loss"`, `"val_accuracy"`, …) with patience 0, min_delta 0.
    pub fn new(monitor: &str) -> Self {
        EarlyStopping {
            monitor: monitor.to_string(),
            patience: 0,
            min_delta: 0.0,
            mode: Mode::for_metric(monitor),
            restore_best_weights: false,
            best: None,
            best_epoch: 0,
            wait: 0,
            stopped_epoch: None,
            best_weights: None,
        }
    }

    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    pub fn min_delta(mut self, delta: f64) -> Self {
        self.min_delta = delta.abs();
        self
    }

    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// The epoch (from 1) with the best value so far; 0 before any.
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    pub fn best(&self) -> Option<f64> {
        self.best
    }

    /// The epoch after which this callback stopped training, if it did.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }
}

impl<M: Trainable> Callback<M> for EarlyStopping<M> {
    fn on_train_begin(&mut self, _model: &M) -> TrainResult<()> {
        (self.best, self.best_epoch, self.wait, self.stopped_epoch) = (None, 0, 0, None);
        self.best_weights = None;
        Ok(())
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, model: &M) -> TrainResult<Control> {
        let value = read_metric("EarlyStopping", &self.monitor, logs)?;
        if self.mode.improves(value, self.best, self.min_delta) {
            (self.best, self.best_epoch, self.wait) = (Some(value), logs.epoch, 0);
            if self.restore_best_weights {
                self.best_weights = Some(model.clone());
            }
            return Ok(Control::Continue);
        }
        self.wait += 1;
        // As in Keras: stop after `patience` epochs without improvement (0 acts as 1).
        if self.wait >= self.patience.max(1) {
            self.stopped_epoch = Some(logs.epoch);
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }

    /// Restores the best weights whenever training ended past the best epoch (Keras 3 does
    /// the same, whether or not this callback stopped it).
    fn on_train_end(&mut self, history: &History, model: &mut M) -> TrainResult<()> {
        if let Some(best) = self.best_weights.take() {
            if history.epochs() != self.best_epoch {
                *model = best;
            }
        }
        Ok(())
    }
}

/// Saves the model after an epoch: every epoch, or only when `monitor` improved.
///
/// `{epoch}` in the path becomes the epoch number (`ckpt-{epoch}.safetensors`); each save
/// also writes the JSON sidecar (see `checkpoint`).
#[derive(Debug, Clone)]
pub struct ModelCheckpoint {
    pub path: PathBuf,
    pub monitor: String,
    pub save_best_only: bool,
    pub mode: Mode,
    best: Option<f64>,
    saved: Vec<(usize, PathBuf)>,
}

impl ModelCheckpoint {
    /// Saves after every epoch; see [`best_only`](Self::best_only).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ModelCheckpoint {
            path: path.into(),
            monitor: "val_loss".into(),
            save_best_only: false,
            mode: Mode::Min,
            best: None,
            saved: Vec::new(),
        }
    }

    /// Saves only when `monitor` beats its best so far.
    pub fn best_only(mut self, monitor: &str) -> Self {
        self.monitor = monitor.into();
        self.mode = Mode::for_metric(monitor);
        self.save_best_only = true;
        self
    }

    /// (epoch, file) of every save so far.
    pub fn saved(&self) -> &[(usize, PathBuf)] {
        &self.saved
    }

    fn path_for(&self, epoch: usize) -> PathBuf {
        let text = self.path.to_string_lossy();
        if text.contains("{epoch}") {
            PathBuf::from(text.replace("{epoch}", &epoch.to_string()))
        } else {
            self.path.clone()
        }
    }
}

impl<M: Trainable> Callback<M> for ModelCheckpoint {
    fn on_train_begin(&mut self, _model: &M) -> TrainResult<()> {
        self.best = None;
        Ok(())
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, model: &M) -> TrainResult<Control> {
        if self.save_best_only {
            let value = read_metric("ModelCheckpoint", &self.monitor, logs)?;
            if !self.mode.improves(value, self.best, 0.0) {
                return Ok(Control::Continue);
            }
            self.best = Some(value);
        }
        let path = self.path_for(logs.epoch);
        save_checkpoint(model, &path, logs.epoch, Some(logs))?;
        self.saved.push((logs.epoch, path));
        Ok(Control::Continue)
    }
}

/// Writes one CSV row per epoch: `epoch,loss,accuracy,val_loss,val_accuracy` (validation
/// fields empty without validation). The file is replaced at the start of training and
/// flushed after every row, so it can be read while training runs.
pub struct CsvLogger {
    pub path: PathBuf,
    writer: Option<csv::Writer<File>>,
}

impl CsvLogger {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvLogger {
            path: path.into(),
            writer: None,
        }
    }

    fn csv_error(path: &Path, e: csv::Error) -> TrainError {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => TrainError::io(path, io),
            other => TrainError::Callback {
                name: "CsvLogger".into(),
                why: format!("{}: {other:?}", path.display()),
            },
        }
    }
}

impl<M> Callback<M> for CsvLogger {
    fn on_train_begin(&mut self, _model: &M) -> TrainResult<()> {
        let file = File::create(&self.path).map_err(|e| TrainError::io(&self.path, e))?;
        let mut w = csv::Writer::from_writer(file);
        w.write_record(["epoch", "loss", "accuracy", "val_loss", "val_accuracy"])
            .map_err(|e| Self::csv_error(&self.path, e))?;
        w.flush().map_err(|e| TrainError::io(&self.path, e))?;
        self.writer = Some(w);
        Ok(())
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, _model: &M) -> TrainResult<Control> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(Control::Continue);
        };
        let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        let row = [
            logs.epoch.to_string(),
            logs.loss.to_string(),
            logs.accuracy.to_string(),
            opt(logs.val_loss),
            opt(logs.val_accuracy),
        ];
        w.write_record(&row).map_err(|e| Self::csv_error(&self.path, e))?;
        w.flush().map_err(|e| TrainError::io(&self.path, e))?;
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _history: &History, _model: &mut M) -> TrainResult<()> {
        self.writer = None;
        Ok(())
    }
}
