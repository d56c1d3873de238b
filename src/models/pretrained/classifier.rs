//! A pretrained BERT with a sequence-classification head, Hugging Face's
//! `BertForSequenceClassification`: `logits = W · pooler_output + b`, one row per text.
//!
//! [`BertClassifier`] is the model that trains (its layer count is a type parameter, so its
//! code is compiled once per depth); [`BertClassifier::save_pretrained`] writes it, head and
//! tokenizer included, as a Hugging Face directory, and [`BertSequenceClassifier`] reads any
//! such directory back with the layer count taken from `config.json` at run time. That is
//! what a server needs: it loads whatever a learner fine-tuned, and `transformers` reads the
//! same directory.

use std::path::Path;

use dfdx::prelude::*;

use super::{BertModel, PretrainedConfig, PretrainedError, PretrainedResult};
use crate::data::{BatchEncoding, WordPiece};
use crate::models::BertClassifier;
use crate::nn::{Activation, Dense, Real};

/// A BERT encoder, its pooler and a classification head, read from a Hugging Face directory.
#[derive(Debug, Clone)]
pub struct BertSequenceClassifier<E: Dtype, D: Storage<E>> {
    /// The encoder with its pooler and tokenizer.
    pub bert: BertModel<E, D>,
    /// `classifier.weight` and `classifier.bias`: `(classes, hidden)` and `(classes,)`.
    pub classifier: Dense<E, D>,
}

impl BertSequenceClassifier<f32, Cpu> {
    /// The classifier in f32 on the CPU, from a directory or a Hugging Face model id.
    pub fn from_pretrained(path_or_id: &str) -> PretrainedResult<Self> {
        Self::from_pretrained_on(&Cpu::default(), path_or_id)
    }
}

impl<E: Real, D: Device<E>> BertSequenceClassifier<E, D> {
    /// [`BertSequenceClassifier::from_pretrained`] on any device and element type. A
    /// directory without `classifier.weight` or without a pooler is an error that says so.
    pub fn from_pretrained_on(dev: &D, path_or_id: &str) -> PretrainedResult<Self> {
        let head = ["classifier.weight", "classifier.bias"];
        let (bert, mut store) = BertModel::load(dev, path_or_id, &head)?;
        let file = bert.source.join("model.safetensors");
        let Some(&[classes, _]) = store.shape("classifier.weight") else {
            return Err(PretrainedError::MissingTensor {
                file,
                tensor: "classifier.weight".into(),
                expected: vec![0, bert.hidden_size()],
            });
        };
        if bert.pooler.is_none() {
            return Err(PretrainedError::MissingTensor {
                file,
                tensor: "pooler.dense.weight".into(),
                expected: vec![bert.hidden_size(), bert.hidden_size()],
            });
        }
        let h = bert.hidden_size();
        let classifier = Dense {
            weight: store.take(dev, "classifier.weight", (classes, h))?,
            bias: store.take(dev, "classifier.bias", (classes,))?,
        };
        Ok(Self { bert, classifier })
    }

    /// The number of classes, the width of each row of logits.
    pub fn classes(&self) -> usize {
        self.classifier.units()
    }

    /// Logits `(batch, classes)`, row after row, of an encoded batch.
    pub fn logits(&self, batch: &BatchEncoding) -> PretrainedResult<Vec<E>> {
        let pooled = self.bert.pooler_output(batch)?;
        Ok(self.classifier.try_forward(pooled)?.as_vec())
    }

    /// Logits of each text (tokenized and cut to the model's maximum length), one row per
    /// text in the order given, run as one padded batch.
    pub fn logits_of<S: AsRef<str>>(&self, texts: &[S]) -> PretrainedResult<Vec<E>> {
        let batch = self.bert.tokenizer.encode_batch(texts, self.bert.max_len);
        self.logits(&batch)
    }
}

impl<E: Real, D: Device<E>, const L: usize> BertClassifier<E, D, L> {
    /// Writes the classifier as a Hugging Face `BertForSequenceClassification` directory:
    /// `config.json`, `model.safetensors` (f32, Hugging Face's names, the head as
    /// `classifier.*`), and `tokenizer`'s `vocab.txt` and `tokenizer_config.json`.
    /// [`BertSequenceClassifier`], `ferrolab serve` and `transformers` read it back.
    pub fn save_pretrained(&self, dir: impl AsRef<Path>, tokenizer: &WordPiece) -> PretrainedResult<()> {
        let cfg = self.config();
        let activation = self
            .encoder
            .modules
            .first()
            .map_or(Activation::Gelu, |b| b.feed_forward.activation());
        let dir = dir.as_ref();
        let encoder = BertModel {
            config: PretrainedConfig {
                vocab_size: cfg.vocab_size,
                hidden_size: cfg.hidden,
                num_hidden_layers: L,
                num_attention_heads: cfg.heads,
                intermediate_size: cfg.intermediate,
                max_position_embeddings: cfg.max_position,
                type_vocab_size: cfg.type_vocab,
                layer_norm_eps: cfg.layer_norm_eps,
                activation,
                pad_token_id: cfg.pad_id,
            },
            token_embedding: self.token_embedding.clone(),
            position_embedding: self.position_embedding.clone(),
            segment_embedding: self.segment_embedding.clone(),
            embedding_norm: self.embedding_norm.clone(),
            layers: self.encoder.modules.clone(),
            pooler: Some(self.pooler.clone()),
            tokenizer: tokenizer.clone(),
            max_len: cfg.max_position,
            normalize: false,
            source: dir.to_path_buf(),
            unused: Vec::new(),
            prepared: Default::default(),
        };
        encoder.write_pretrained(dir, Some(&self.classifier))
    }
}
