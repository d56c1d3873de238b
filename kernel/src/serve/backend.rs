//! What one version of a model is: a book model restored from a checkpoint, or a Hugging
//! Face BERT directory; its tensors' names, datatypes and shapes (its signature); and its
//! forward pass on a merged batch, without a gradient tape.
//!
//! A classifier takes `input` (`FP32`, `[-1, …one sample's shape]`) and gives `logits` and
//! `probabilities` (`FP32`, `[-1, classes]`). A BERT takes `text` (`BYTES`, `[-1]`: raw
//! text, tokenized here) and gives `embeddings` (`FP32`, `[-1, hidden]`: the sentence
//! embeddings, mean-pooled, normalised as the model's sentence-transformers config says),
//! or, when its directory is a `BertForSequenceClassification` (what
//! `BertClassifier::save_pretrained` writes after fine-tuning), `logits` and `probabilities`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ferrolab::dfdx::prelude::Cpu;
use ferrolab::models::{BertModel, BertSequenceClassifier};
use ferrolab::train::{softmax_rows, RestoredClassifier};

use super::config::ModelSettings;
use super::tensors::Decoded;

/// A tensor of the signature: name, datatype, and one sample's dims (the batch dim left out).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    pub datatype: &'static str,
    pub dims: Vec<i64>,
}

impl TensorSpec {
    /// The shape with the batch dimension, `-1`, in front.
    pub fn batched_shape(&self) -> Vec<i64> {
        std::iter::once(-1).chain(self.dims.iter().copied()).collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    pub input: TensorSpec,
    pub outputs: Vec<TensorSpec>,
}

pub enum Backend {
    Classifier(RestoredClassifier),
    Bert(Box<BertModel<f32, Cpu>>),
    TextClassifier(Box<BertSequenceClassifier<f32, Cpu>>),
}

impl Backend {
    /// Loads what `version_dir` holds: a Hugging Face directory (`config.json` and
    /// `vocab.txt`) or one `*.safetensors` checkpoint with its sidecar.
    pub fn load(version_dir: &Path) -> anyhow::Result<Self> {
        let config = version_dir.join("config.json");
        if config.is_file() && version_dir.join("vocab.txt").is_file() {
            let path = version_dir.to_str().context("the model's path is not UTF-8")?;
            if is_sequence_classifier(&config)? {
                let model =
                    BertSequenceClassifier::from_pretrained(path).map_err(|e| anyhow::anyhow!("{e}"))?;
                return Ok(Self::TextClassifier(Box::new(model)));
            }
            let model = BertModel::from_pretrained(path).map_err(|e| anyhow::anyhow!("{e}"))?;
            return Ok(Self::Bert(Box::new(model)));
        }
        let checkpoint = find_checkpoint(version_dir)?;
        let (model, _meta) =
            RestoredClassifier::load(&Cpu::default(), &checkpoint).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self::Classifier(model))
    }

    /// `"cnn"`, `"stacked_lstm"`, `"mlp"`, `"bert"` or `"bert_classifier"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Classifier(m) => m.kind(),
            Backend::Bert(_) => "bert",
            Backend::TextClassifier(_) => "bert_classifier",
        }
    }

    /// The tensors, named by `settings` where it names them.
    pub fn signature(&self, settings: &ModelSettings) -> Signature {
        let text = || TensorSpec {
            name: "text".into(),
            datatype: "BYTES",
            dims: vec![],
        };
        let (input, outputs) = match self {
            Backend::Classifier(m) => {
                let dims = m.input_shape().iter().map(|&d| d as i64).collect();
                let input = TensorSpec {
                    name: "input".into(),
                    datatype: "FP32",
                    dims,
                };
                (input, class_outputs(m.classes()))
            }
            Backend::Bert(m) => (
                text(),
                vec![TensorSpec {
                    name: "embeddings".into(),
                    datatype: "FP32",
                    dims: vec![m.hidden_size() as i64],
                }],
            ),
            Backend::TextClassifier(m) => (text(), class_outputs(m.classes())),
        };
        let mut sig = Signature { input, outputs };
        if let Some(name) = &settings.input_name {
            sig.input.name = name.clone();
        }
        if let Some(names) = &settings.output_names {
            for (spec, name) in sig.outputs.iter_mut().zip(names) {
                spec.name = name.clone();
            }
        }
        sig
    }

    /// The outputs (in the signature's order, each flat, `rows × dims`) for `rows` samples.
    pub fn run(&self, input: &Decoded, rows: usize) -> anyhow::Result<Vec<Vec<f32>>> {
        match (self, input) {
            (Backend::Classifier(m), Decoded::Rows(values)) => {
                let logits = m.logits(values, rows).map_err(|e| anyhow::anyhow!("{e}"))?;
                let probabilities = softmax_rows(&logits, m.classes());
                Ok(vec![logits, probabilities])
            }
            (Backend::TextClassifier(m), Decoded::Texts(texts)) => {
                let logits = m.logits_of(texts).map_err(|e| anyhow::anyhow!("{e}"))?;
                let probabilities = softmax_rows(&logits, m.classes());
                Ok(vec![logits, probabilities])
            }
            (Backend::Bert(m), Decoded::Texts(texts)) => {
                let embeddings = m
                    .embed_batched(texts, texts.len().max(1))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(vec![embeddings.into_iter().flatten().collect()])
            }
            _ => bail!("the input's type does not fit the model (a bug: decoding checks it)"),
        }
    }
}

/// `logits` and `probabilities`, `FP32`, `[-1, classes]`.
fn class_outputs(classes: usize) -> Vec<TensorSpec> {
    ["logits", "probabilities"]
        .into_iter()
        .map(|name| TensorSpec {
            name: name.into(),
            datatype: "FP32",
            dims: vec![classes as i64],
        })
        .collect()
}

/// Whether a Hugging Face `config.json` names a sequence-classification architecture
/// (`BertForSequenceClassification`), i.e. the directory has a classifier head to serve.
fn is_sequence_classifier(config: &Path) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", config.display()))?;
    let architectures = json["architectures"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    Ok(architectures.iter().any(|a| {
        a.as_str()
            .is_some_and(|a| a.ends_with("ForSequenceClassification"))
    }))
}

/// The one `*.safetensors` file with a sidecar in `dir`.
fn find_checkpoint(dir: &Path) -> anyhow::Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!(
            "{} holds no model: expected a checkpoint (NAME.safetensors with NAME.safetensors.json) \
             or a Hugging Face BERT directory (config.json, vocab.txt, model.safetensors)",
            dir.display()
        ),
        _ => bail!(
            "{} holds several checkpoints ({found:?}); keep one per version",
            dir.display()
        ),
    }
}
