//! A BERT-style sequence classifier (the book's Transformer chapter):
//!
//! ```text
//! x = LayerNorm(TokenEmb(ids) + PositionEmb(0..S) + SegmentEmb(segments))
//! x = EncoderBlock_L(… EncoderBlock_1(x))        key mask hides [PAD] tokens
//! logits = W_c · tanh(W_p · x[CLS] + b_p) + b_c  [CLS] is position 0
//! ```
//!
//! Input token ids `(batch, steps)`, output `(batch, classes)` logits. The number of encoder
//! layers is the type parameter `L` (dfdx visits a model's parameters without an instance,
//! so their count must be known from the type): `BertClassifier<f32, Cpu, 12>` is BERT-base.
//! Sizes come from [`BertConfig`]: [`BertConfig::base`], [`BertConfig::mini_lm`] and the
//! chapter's [`BertConfig::small`]. Parameter names follow the layers, not Hugging Face's.

use super::params;
use crate::nn::{
    Activation, Dense, Dyn2, Dyn3, Dyn4, Embedding, EncoderBlock, EncoderConfig, LayerNorm, Real, Settings,
};
use crate::summary::{Summary, SummaryBuilder};
use crate::{Error, Result};
use dfdx::nn::modules::Repeated;
use dfdx::prelude::*;

/// Sizes of a BERT-style classifier.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_position: usize,
    pub type_vocab: usize,
    pub classes: usize,
    pub layer_norm_eps: f64,
    /// The [PAD] token id, masked out of attention.
    pub pad_id: usize,
}

impl BertConfig {
    /// BERT-base: 12 layers, hidden 768, 12 heads, feed-forward 3072, vocabulary 30,522.
    pub fn base(classes: usize) -> Self {
        Self {
            vocab_size: 30522,
            hidden: 768,
            layers: 12,
            heads: 12,
            intermediate: 3072,
            max_position: 512,
            type_vocab: 2,
            classes,
            layer_norm_eps: 1e-12,
            pad_id: 0,
        }
    }

    /// all-MiniLM-L6-v2's sizes: 6 layers, hidden 384, 12 heads, feed-forward 1536.
    pub fn mini_lm(classes: usize) -> Self {
        Self {
            hidden: 384,
            layers: 6,
            intermediate: 1536,
            ..Self::base(classes)
        }
    }

    /// The chapter's small model: 2 layers, hidden 64, 4 heads, feed-forward 256, 64 positions.
    pub fn small(vocab_size: usize, classes: usize) -> Self {
        Self {
            vocab_size,
            hidden: 64,
            layers: 2,
            heads: 4,
            intermediate: 256,
            max_position: 64,
            ..Self::base(classes)
        }
    }

    fn encoder(&self) -> EncoderConfig {
        EncoderConfig {
            d_model: self.hidden,
            heads: self.heads,
            d_ff: self.intermediate,
            activation: Activation::Gelu,
            layer_norm_eps: self.layer_norm_eps,
        }
    }
}

/// Logits `(batch, classes)` and each layer's attention weights `(batch, heads, steps, steps)`.
pub type LogitsAndAttention<E, D, T> = (Tensor<Dyn2, E, D, T>, Vec<Tensor<Dyn4, E, D>>);

#[derive(Debug, Clone)]
pub struct BertClassifier<E: Dtype, D: Storage<E>, const L: usize> {
    pub token_embedding: Embedding<E, D>,
    pub position_embedding: Embedding<E, D>,
    pub segment_embedding: Embedding<E, D>,
    pub embedding_norm: LayerNorm<E, D>,
    pub encoder: Repeated<EncoderBlock<E, D>, L>,
    pub pooler: Dense<E, D>,
    pub classifier: Dense<E, D>,
    /// `[pad_id]`: the [PAD] token id, masked out of attention.
    pub settings: Settings<E, D>,
}

/// What the attention is added to where a key is [PAD]: BERT's −10000, small enough after softmax.
const MASKED: f64 = -10000.0;

impl<E: Real, D: Device<E>, const L: usize> BertClassifier<E, D, L> {
    pub fn new(dev: &D, cfg: BertConfig) -> Result<Self> {
        if cfg.layers != L {
            let why = format!("config asks for {} layers but the type has {L}", cfg.layers);
            return Err(Error::config("BertClassifier", why));
        }
        let blocks = (0..L)
            .map(|_| EncoderBlock::new(dev, cfg.encoder()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            token_embedding: Embedding::new(dev, cfg.vocab_size, cfg.hidden),
            position_embedding: Embedding::new(dev, cfg.max_position, cfg.hidden),
            segment_embedding: Embedding::new(dev, cfg.type_vocab, cfg.hidden),
            embedding_norm: LayerNorm::new(dev, cfg.hidden, cfg.layer_norm_eps),
            encoder: Repeated { modules: blocks },
            pooler: Dense::new(dev, cfg.hidden, cfg.hidden),
            classifier: Dense::new(dev, cfg.hidden, cfg.classes),
            settings: Settings::new(dev, &[cfg.pad_id as f64]),
        })
    }

    pub fn hidden(&self) -> usize {
        self.token_embedding.dim()
    }

    /// The [PAD] token id, masked out of attention.
    pub fn pad_id(&self) -> usize {
        self.settings.count(0)
    }

    /// The sizes this model was built with.
    pub fn config(&self) -> BertConfig {
        let block = self.encoder.modules.first();
        BertConfig {
            vocab_size: self.token_embedding.vocabulary(),
            hidden: self.hidden(),
            layers: L,
            heads: block.map_or(0, |b| b.attention.heads()),
            intermediate: block.map_or(0, |b| b.feed_forward.w_1.units()),
            max_position: self.position_embedding.vocabulary(),
            type_vocab: self.segment_embedding.vocabulary(),
            classes: self.classifier.units(),
            layer_norm_eps: self.embedding_norm.epsilon(),
            pad_id: self.pad_id(),
        }
    }

    /// Logits and every layer's attention weights `(batch, heads, steps, steps)`, for heatmaps.
    pub fn forward_with_attention<T: Tape<E, D>>(
        &self,
        ids: Tensor<Dyn2, usize, D, T>,
    ) -> Result<LogitsAndAttention<E, D, T>> {
        let (ids, tape) = ids.split_tape();
        let (b, s) = *ids.shape();
        let max = self.position_embedding.vocabulary();
        if s == 0 || s > max {
            return Err(Error::shape(
                "BertClassifier",
                format!("token ids (batch, steps ≤ {max})"),
                &[b, s],
            ));
        }
        let dev = ids.device().clone();
        let pad_id = self.pad_id();
        let positions = dev.tensor_from_vec((0..b * s).map(|i| i % s).collect(), (b, s));
        let segments = dev.tensor_from_vec(vec![0usize; b * s], (b, s));
        let mask: Vec<E> = ids
            .as_vec()
            .iter()
            .map(|&id| {
                if id == pad_id {
                    E::from_f64(MASKED).unwrap()
                } else {
                    E::default()
                }
            })
            .collect();
        let mask = dev.tensor_from_vec(mask, (b, s));

        let x = self.token_embedding.lookup::<T>(ids)?
            + self.position_embedding.lookup::<T>(positions)?
            + self.segment_embedding.lookup::<T>(segments)?;
        let mut x: Tensor<Dyn3, E, D, T> = self.embedding_norm.try_forward(crate::nn::with_tapes(x, tape))?;
        let mut attention = Vec::with_capacity(L);
        for block in &self.encoder.modules {
            let (y, weights) = block.forward_with_weights(x, Some(&mask))?;
            x = y;
            attention.push(weights);
        }
        let h = self.hidden();
        let cls = x.slice((.., 0..1, ..)).reshape_like(&(b, h)); // (B, S, H) -> (B, H) at [CLS]
        let pooled = self.pooler.try_forward(cls)?.tanh();
        Ok((self.classifier.try_forward(pooled)?, attention))
    }

    /// The summary for sequences of `steps` tokens.
    pub fn summary(&self, steps: usize) -> Summary {
        let h = self.hidden();
        let embeddings = params(&self.token_embedding)
            + params(&self.position_embedding)
            + params(&self.segment_embedding)
            + params(&self.embedding_norm);
        let mut builder = SummaryBuilder::new("bert_classifier", &[steps]).layer_with_shape(
            "embeddings",
            "Embeddings",
            &[steps, h],
            embeddings,
        );
        for (i, block) in self.encoder.modules.iter().enumerate() {
            builder = builder
                .layer(&format!("encoder_{i}"), "EncoderBlock", block, params(block))
                .expect("blocks fit");
        }
        builder
            .layer_with_shape("pooler", "Dense", &[h], params(&self.pooler))
            .layer("classifier", "Dense", &self.classifier, params(&self.classifier))
            .expect("classifier fits the pooler")
            .build()
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>, const L: usize> Module<Tensor<Dyn2, usize, D, T>>
    for BertClassifier<E, D, L>
{
    type Output = Tensor<Dyn2, E, D, T>;
    type Error = Error;

    fn try_forward(&self, ids: Tensor<Dyn2, usize, D, T>) -> Result<Self::Output> {
        Ok(self.forward_with_attention(ids)?.0)
    }
}

impl<E: Real, D: Device<E>, const L: usize> TensorCollection<E, D> for BertClassifier<E, D, L> {
    type To<E2: Dtype, D2: Device<E2>> = BertClassifier<E2, D2, L>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            // dfdx takes field tuples of up to six; nest them.
            (
                (
                    Self::module(
                        "token_embedding",
                        |s| &s.token_embedding,
                        |s| &mut s.token_embedding,
                    ),
                    Self::module(
                        "position_embedding",
                        |s| &s.position_embedding,
                        |s| &mut s.position_embedding,
                    ),
                    Self::module(
                        "segment_embedding",
                        |s| &s.segment_embedding,
                        |s| &mut s.segment_embedding,
                    ),
                    Self::module("embedding_norm", |s| &s.embedding_norm, |s| &mut s.embedding_norm),
                ),
                (
                    Self::module("encoder", |s| &s.encoder, |s| &mut s.encoder),
                    Self::module("pooler", |s| &s.pooler, |s| &mut s.pooler),
                    Self::module("classifier", |s| &s.classifier, |s| &mut s.classifier),
                    Self::module("settings", |s| &s.settings, |s| &mut s.settings),
                ),
            ),
            |(
                (token_embedding, position_embedding, segment_embedding, embedding_norm),
                (encoder, pooler, classifier, settings),
            )| {
                BertClassifier {
                    token_embedding,
                    position_embedding,
                    segment_embedding,
                    embedding_norm,
                    encoder,
                    pooler,
                    classifier,
                    settings,
                }
            },
        )
    }
}
