//! What training measured: per-epoch [`EpochLogs`], the whole run's [`History`], and the
//! [`Metrics`] of one evaluation.
//!
//! Metric names follow Keras: `loss`, `accuracy`, `val_loss`, `val_accuracy`. History turns
//! into a [`Curves`] plot and displays as one. It holds numbers only, never the model.

use crate::display::{Displayable, MimeBundle};
use crate::plot::Curves;

/// Mean loss and accuracy over a dataset.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metrics {
    /// Mean softmax cross-entropy per item.
    pub loss: f64,
    /// Share of items whose largest logit is the label, in 0..=1.
    pub accuracy: f64,
}

/// One finished epoch's numbers; `epoch` counts from 1.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochLogs {
    pub epoch: usize,
    pub loss: f64,
    pub accuracy: f64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
}

impl EpochLogs {
    /// The metric called `name` (`"loss"`, `"accuracy"`, `"val_loss"`, `"val_accuracy"`;
    /// `"acc"` works for accuracy); `None` when unknown or not measured.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
            "accuracy" | "acc" => Some(self.accuracy),
            "val_loss" => self.val_loss,
            "val_accuracy" | "val_acc" => self.val_accuracy,
            _ => None,
        }
    }

    /// `loss=0.1234 accuracy=0.9700 val_loss=… val_accuracy=…`.
    pub fn summary(&self) -> String {
        let mut s = format!("loss={:.4} accuracy={:.4}", self.loss, self.accuracy);
        if let (Some(l), Some(a)) = (self.val_loss, self.val_accuracy) {
            s.push_str(&format!(" val_loss={l:.4} val_accuracy={a:.4}"));
        }
        s
    }
}

/// Names every metric `EpochLogs::get` knows, for error messages.
pub const METRIC_NAMES: [&str; 4] = ["loss", "accuracy", "val_loss", "val_accuracy"];

/// Why training ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StopReason {
    /// All requested epochs ran.
    Completed,
    /// The cancel flag was set (Ctrl-C, a front end's interrupt, `request_cancel`).
    Interrupted,
    /// A callback asked to stop; its name.
    Callback(String),
}

/// A whole run: one entry per finished epoch, and how it ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    pub loss: Vec<f64>,
    pub accuracy: Vec<f64>,
    /// Empty when training had no validation data.
    pub val_loss: Vec<f64>,
    pub val_accuracy: Vec<f64>,
    /// Training was cancelled; the last epoch may be partial and is not recorded.
    pub interrupted: bool,
    /// The epoch (from 1) that was running when training stopped; 0 if none started.
    pub stopped_epoch: usize,
    pub stop_reason: StopReason,
}

impl Default for History {
    fn default() -> Self {
        History {
            loss: Vec::new(),
            accuracy: Vec::new(),
            val_loss: Vec::new(),
            val_accuracy: Vec::new(),
            interrupted: false,
            stopped_epoch: 0,
            stop_reason: StopReason::Completed,
        }
    }
}

impl History {
    /// Records a finished epoch.
    pub fn push(&mut self, logs: &EpochLogs) {
        self.loss.push(logs.loss);
        self.accuracy.push(logs.accuracy);
        if let (Some(l), Some(a)) = (logs.val_loss, logs.val_accuracy) {
            self.val_loss.push(l);
            self.val_accuracy.push(a);
        }
    }

    /// Finished epochs.
    pub fn epochs(&self) -> usize {
        self.loss.len()
    }

    /// The values of metric `name` per epoch; empty when unknown or not measured.
    pub fn metric(&self, name: &str) -> &[f64] {
        match name {
            "loss" => &self.loss,
            "accuracy" | "acc" => &self.accuracy,
            "val_loss" => &self.val_loss,
            "val_accuracy" | "val_acc" => &self.val_accuracy,
            _ => &[],
        }
    }

    /// The last finished epoch's logs.
    pub fn last(&self) -> Option<EpochLogs> {
        let i = self.epochs().checked_sub(1)?;
        Some(EpochLogs {
            epoch: i + 1,
            loss: self.loss[i],
            accuracy: self.accuracy[i],
            val_loss: self.val_loss.get(i).copied(),
            val_accuracy: self.val_accuracy.get(i).copied(),
        })
    }

    /// Loss and accuracy curves, train solid and validation dashed.
    pub fn curves(&self) -> Curves {
        let mut curves = Curves::new().title(self.title());
        for name in METRIC_NAMES {
            let values = self.metric(name);
            if !values.is_empty() {
                curves = curves.add(name, values);
            }
        }
        curves
    }

    fn title(&self) -> String {
        match &self.stop_reason {
            StopReason::Completed => format!("{} epochs", self.epochs()),
            StopReason::Interrupted => format!("interrupted in epoch {}", self.stopped_epoch),
            StopReason::Callback(name) => format!("stopped by {name} after epoch {}", self.stopped_epoch),
        }
    }

    /// Shows the curves as a cell's result in evcxr.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_print(&self.mime_bundle());
    }
}

impl Displayable for History {
    fn mime_bundle(&self) -> MimeBundle {
        self.curves().mime_bundle()
    }
}
