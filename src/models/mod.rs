//! The book's models, built from [`crate::nn`] layers with the book's shapes.
//!
//! Each model is a plain struct of layers whose `forward` reads like the book's Keras code,
//! a dfdx [`Module`](dfdx::nn::Module) (so dfdx optimizers and safetensors work on it) and
//! has a `summary()`. Models return logits; the losses apply the softmax.

pub mod bert;
pub mod cnn;
pub mod lstm;
pub mod mlp;
pub mod pretrained;

pub use bert::{BertClassifier, BertConfig};
pub use cnn::Cnn;
pub use lstm::StackedLstm;
pub use mlp::Mlp;
pub use pretrained::{cosine, BertModel, BertSequenceClassifier, PretrainedConfig, PretrainedError};

use dfdx::prelude::*;

/// Trainable parameters of a layer or model.
pub(crate) fn params<E: Dtype, D: Device<E>, M: TensorCollection<E, D>>(m: &M) -> usize {
    m.num_trainable_params()
}
