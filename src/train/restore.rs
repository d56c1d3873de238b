//! A checkpoint loaded by the kind its sidecar names, for inference: the model is rebuilt
//! from the sidecar's sizes, its weights checked and loaded, and its forward run without a
//! gradient tape on flat `f32` rows.
//!
//! This is what a server or a script needs when it does not know the model's type at
//! compile time. It covers the book's CNN, stacked LSTM and MLP (f32, CPU); a
//! `bert_classifier` checkpoint names its layer count only at run time while the model
//! takes it as a type parameter, and it holds no tokenizer, so it is refused with a message
//! pointing to `BertClassifier::save_pretrained`, whose directory `BertSequenceClassifier`
//! loads.

use std::path::Path;

use dfdx::prelude::*;
use serde_json::Value;

use super::checkpoint::{load_checkpoint, read_sidecar, CheckpointMeta};
use super::error::{TrainError, TrainResult};
use crate::models::{Cnn, Mlp, StackedLstm};

/// A book model rebuilt from a checkpoint, ready to predict.
#[derive(Debug, Clone)]
pub enum RestoredClassifier {
    Cnn(Box<Cnn<f32, Cpu>>),
    StackedLstm(Box<StackedLstm<f32, Cpu>>),
    Mlp(Box<Mlp<f32, Cpu>>),
}

impl RestoredClassifier {
    /// The checkpoint at `path` (safetensors with its `.json` sidecar), rebuilt by the
    /// sidecar's kind and sizes on `dev`; the sidecar is returned too.
    pub fn load(dev: &Cpu, path: impl AsRef<Path>) -> TrainResult<(Self, CheckpointMeta)> {
        let path = path.as_ref();
        let meta = read_sidecar(path)?.ok_or_else(|| {
            TrainError::checkpoint(
                path,
                "has no sidecar (<file>.json) naming the model's kind and sizes",
            )
        })?;
        let size = |field: &str| -> TrainResult<usize> {
            meta.config
                .get(field)
                .and_then(Value::as_u64)
                .map(|v| v as usize)
                .ok_or_else(|| {
                    let why = format!("the sidecar's config has no whole number `{field}`");
                    TrainError::checkpoint(path, why)
                })
        };
        let mut model = match meta.kind.as_str() {
            "cnn" => Self::Cnn(Box::new(
                Cnn::with_sizes(dev, size("channels")?, size("side")?, size("classes")?)
                    .map_err(|e| TrainError::checkpoint(path, e.to_string()))?,
            )),
            "stacked_lstm" => Self::StackedLstm(Box::new(StackedLstm::with_sizes(
                dev,
                size("steps")?,
                size("features")?,
                size("units")?,
                size("classes")?,
            ))),
            "mlp" => Self::Mlp(Box::new(Mlp::new(
                dev,
                size("features")?,
                size("hidden")?,
                size("classes")?,
            ))),
            other => {
                let mut why = format!(
                    "holds a {other:?} model; the kinds that load by name are \"cnn\", \"stacked_lstm\" and \"mlp\""
                );
                if other == "bert_classifier" {
                    why += "; save a BERT classifier with `save_pretrained(dir, &tokenizer)` instead, \
                            which `BertSequenceClassifier` and `ferrolab serve` load with its tokenizer";
                }
                return Err(TrainError::checkpoint(path, why));
            }
        };
        match &mut model {
            Self::Cnn(m) => load_checkpoint(&mut **m, path)?,
            Self::StackedLstm(m) => load_checkpoint(&mut **m, path)?,
            Self::Mlp(m) => load_checkpoint(&mut **m, path)?,
        };
        Ok((model, meta))
    }

    /// The sidecar's kind: `"cnn"`, `"stacked_lstm"` or `"mlp"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Cnn(_) => "cnn",
            Self::StackedLstm(_) => "stacked_lstm",
            Self::Mlp(_) => "mlp",
        }
    }

    /// One sample's shape: `(channels, side, side)`, `(steps, features)` or `(features,)`.
    pub fn input_shape(&self) -> Vec<usize> {
        match self {
            Self::Cnn(m) => m.input_shape(),
            Self::StackedLstm(m) => vec![m.steps(), m.lstm_1.features()],
            Self::Mlp(m) => vec![m.hidden_1.inputs()],
        }
    }

    /// The number of classes, the width of each row of logits.
    pub fn classes(&self) -> usize {
        match self {
            Self::Cnn(m) => m.dense.units(),
            Self::StackedLstm(m) => m.dense.units(),
            Self::Mlp(m) => m.output.units(),
        }
    }

    /// Logits `(batch, classes)`, row after row, of `batch` samples given as one flat slice
    /// in row-major order; no gradient tape is recorded.
    pub fn logits(&self, input: &[f32], batch: usize) -> crate::Result<Vec<f32>> {
        let shape = self.input_shape();
        let per_sample: usize = shape.iter().product();
        if batch == 0 || input.len() != batch * per_sample {
            let mut got = vec![batch];
            got.push(input.len() / batch.max(1));
            let want = format!("{batch} samples of {shape:?} ({} values)", batch * per_sample);
            return Err(crate::Error::shape(self.kind(), want, &got));
        }
        match self {
            Self::Cnn(m) => m.infer(input, batch), // (B, classes), on the tape-free path
            Self::StackedLstm(m) => {
                let dev = m.dense.weight.device().clone();
                let x = dev.tensor_from_vec(input.to_vec(), (batch, shape[0], shape[1])); // (B, T, F)
                Ok(m.try_forward(x)?.as_vec()) // (B, classes)
            }
            Self::Mlp(m) => {
                let dev = m.output.weight.device().clone();
                let x = dev.tensor_from_vec(input.to_vec(), (batch, shape[0])); // (B, F)
                Ok(m.try_forward(x)?.as_vec()) // (B, classes)
            }
        }
    }
}

/// Softmax of each `classes`-wide row of `logits`.
pub fn softmax_rows(logits: &[f32], classes: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks(classes.max(1)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = row.iter().map(|&v| (v - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        out.extend(exps.iter().map(|&e| e / sum));
    }
    out
}
