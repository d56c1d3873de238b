//! Which models `fit` can train, and how a data [`Batch`] becomes each one's input tensor.
//!
//! A model names its input kind once ([`Classifier::Feed`]): images `(b, c, h, w)`,
//! sequences `(b, t, f)`, features `(b, f)` or token ids `(b, s)`. Everything else
//! ([`Trainable`]) follows from the model being a dfdx module that maps that input, with or
//! without a gradient tape, to `(batch, classes)` logits. The book's four models are wired
//! here; a learner's own model needs one `impl Classifier`. Only classification is covered.

use dfdx::prelude::*;
use dfdx::tensor::safetensors::SafeDtype;
use serde_json::json;

use super::error::{TrainError, TrainResult};
use super::walk::device_of;
use crate::data::Batch;
use crate::models::{BertClassifier, Cnn, Mlp, StackedLstm};
use crate::nn::{Dyn2, Dyn3, Dyn4, Real};

/// Logits `(batch, classes)`, the output of every trainable model.
pub type Logits<E, D, T = NoneTape> = Tensor<Dyn2, E, D, T>;

/// How a batch becomes an input tensor (without a tape; `Trace` puts one on).
pub trait Feed<E: Dtype, D: Device<E>> {
    /// A tensor such as `Tensor<(usize, usize), usize, D>` for token ids.
    type Input: Trace<E, D>;
    fn input(batch: &Batch, dev: &D) -> TrainResult<Self::Input>;
}

/// Image batches `(batch, channels, height, width)`.
pub struct ImageInput;
/// Sequence batches `(batch, steps, features)`.
pub struct SequenceInput;
/// Flat feature batches `(batch, values per item)`.
pub struct FeatureInput;
/// Token id batches `(batch, seq_len)`.
pub struct TokenInput;

impl<E: Real, D: Device<E>> Feed<E, D> for ImageInput {
    type Input = Tensor<Dyn4, E, D>;
    fn input(batch: &Batch, dev: &D) -> TrainResult<Tensor<Dyn4, E, D>> {
        Ok(batch.images(dev)?)
    }
}

impl<E: Real, D: Device<E>> Feed<E, D> for SequenceInput {
    type Input = Tensor<Dyn3, E, D>;
    fn input(batch: &Batch, dev: &D) -> TrainResult<Tensor<Dyn3, E, D>> {
        Ok(batch.sequences(dev)?)
    }
}

impl<E: Real, D: Device<E>> Feed<E, D> for FeatureInput {
    type Input = Tensor<Dyn2, E, D>;
    fn input(batch: &Batch, dev: &D) -> TrainResult<Tensor<Dyn2, E, D>> {
        Ok(batch.features(dev)?)
    }
}

impl<E: Real, D: Device<E>> Feed<E, D> for TokenInput {
    type Input = Tensor<Dyn2, usize, D>;
    fn input(batch: &Batch, dev: &D) -> TrainResult<Tensor<Dyn2, usize, D>> {
        Ok(batch.tokens(dev)?)
    }
}

/// A classification model: its element type, device and input kind, plus what a
/// checkpoint's sidecar records about it.
///
/// A learner's own model, logistic regression on the 8×8 digits, becomes trainable with
/// `impl Classifier` beside its dfdx `Module` and `TensorCollection`:
///
/// ```
/// use ferrolab::prelude::*;
/// use ferrolab::train::FeatureInput;
///
/// #[derive(Debug, Clone)]
/// struct Linear<E: Dtype, D: Storage<E>> {
///     dense: Dense<E, D>,
/// }
///
/// impl<E: Real, D: Device<E>> Classifier for Linear<E, D> {
///     type Elem = E;
///     type Dev = D;
///     type Feed = FeatureInput; // batches as (batch, 64)
/// }
///
/// impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn2, E, D, T>> for Linear<E, D> {
///     type Output = Tensor<Dyn2, E, D, T>;
///     type Error = ferrolab::Error;
///     fn try_forward(&self, x: Tensor<Dyn2, E, D, T>) -> ferrolab::Result<Self::Output> {
///         self.dense.try_forward(x) // (batch, 64) -> (batch, 10) logits
///     }
/// }
///
/// impl<E: Real, D: Device<E>> TensorCollection<E, D> for Linear<E, D> {
///     type To<E2: Dtype, D2: Device<E2>> = Linear<E2, D2>;
///     fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
///         visitor: &mut V,
///     ) -> std::result::Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
///         visitor.visit_fields(Self::module("dense", |s| &s.dense, |s| &mut s.dense), |dense| {
///             Linear { dense }
///         })
///     }
/// }
///
/// let dev = Cpu::seed_from_u64(0);
/// let mut model = Linear { dense: Dense::<f32, Cpu>::new(&dev, 64, 10) };
/// let cfg = FitConfig::default().epochs(3).learning_rate(1e-2).verbose(Verbose::Silent);
/// let history = fit(&mut model, &ferrolab::data::digits(), &cfg)?;
/// assert!(history.accuracy[2] > 0.8, "{history:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Classifier {
    type Elem: Real;
    type Dev: Device<Self::Elem>;
    type Feed: Feed<Self::Elem, Self::Dev>;

    /// A short name for checkpoints, e.g. `"cnn"`.
    fn kind(&self) -> String {
        let full = std::any::type_name::<Self>();
        let path = full.split('<').next().unwrap_or(full);
        path.rsplit("::").next().unwrap_or(path).to_lowercase()
    }

    /// The sizes needed to rebuild the model, as JSON (`null` when unknown).
    fn config(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

/// The model's input without a tape, and with one; the tape training records on.
type Input<M> = <<M as Classifier>::Feed as Feed<<M as Classifier>::Elem, <M as Classifier>::Dev>>::Input;
type Traced<M> = <Input<M> as Trace<<M as Classifier>::Elem, <M as Classifier>::Dev>>::Traced;
type TrainTape<M> = OwnedTape<<M as Classifier>::Elem, <M as Classifier>::Dev>;

/// What `fit`, `evaluate` and `predict` need; implemented for every [`Classifier`] that is a
/// dfdx module from its input to logits, with and without a tape.
pub trait Trainable: Classifier + TensorCollection<Self::Elem, Self::Dev> + Clone {
    /// Logits with the gradient tape on, accumulating into `grads`.
    fn logits_traced(
        &self,
        batch: &Batch,
        dev: &Self::Dev,
        grads: Gradients<Self::Elem, Self::Dev>,
    ) -> TrainResult<Logits<Self::Elem, Self::Dev, TrainTape<Self>>>;

    /// Logits without a tape, for evaluation and prediction.
    fn logits(&self, batch: &Batch, dev: &Self::Dev) -> TrainResult<Logits<Self::Elem, Self::Dev>>;

    /// The device the model's tensors live on.
    fn device(&self) -> TrainResult<Self::Dev> {
        device_of(self).ok_or_else(|| TrainError::config("model", "has no tensors to train"))
    }
}

impl<M> Trainable for M
where
    M: Classifier + TensorCollection<M::Elem, M::Dev> + Clone,
    M::Elem: SafeDtype,
    M: Module<Traced<M>, Output = Logits<M::Elem, M::Dev, TrainTape<M>>>,
    M: Module<Input<M>, Output = Logits<M::Elem, M::Dev>>,
    <M as Module<Traced<M>>>::Error: Into<TrainError>,
    <M as Module<Input<M>>>::Error: Into<TrainError>,
{
    fn logits_traced(
        &self,
        batch: &Batch,
        dev: &M::Dev,
        grads: Gradients<M::Elem, M::Dev>,
    ) -> TrainResult<Logits<M::Elem, M::Dev, TrainTape<M>>> {
        // Token ids carry the tape too: dfdx traces any tensor, and the embedding takes it off.
        let x: Traced<M> = M::Feed::input(batch, dev)?.traced(grads);
        self.try_forward(x).map_err(Into::into)
    }

    fn logits(&self, batch: &Batch, dev: &M::Dev) -> TrainResult<Logits<M::Elem, M::Dev>> {
        let x: Input<M> = M::Feed::input(batch, dev)?;
        self.try_forward(x).map_err(Into::into)
    }
}

impl<E: Real, D: Device<E>> Classifier for Cnn<E, D> {
    type Elem = E;
    type Dev = D;
    type Feed = ImageInput;

    fn kind(&self) -> String {
        "cnn".into()
    }

    fn config(&self) -> serde_json::Value {
        let conv = self.conv_1.config();
        json!({"channels": conv.in_channels, "side": self.side(), "classes": self.dense.units()})
    }
}

impl<E: Real, D: Device<E>> Classifier for StackedLstm<E, D> {
    type Elem = E;
    type Dev = D;
    type Feed = SequenceInput;

    fn kind(&self) -> String {
        "stacked_lstm".into()
    }

    fn config(&self) -> serde_json::Value {
        json!({
            "steps": self.steps(),
            "features": self.lstm_1.features(),
            "units": self.lstm_1.units(),
            "classes": self.dense.units(),
        })
    }
}

impl<E: Real, D: Device<E>> Classifier for Mlp<E, D> {
    type Elem = E;
    type Dev = D;
    type Feed = FeatureInput;

    fn kind(&self) -> String {
        "mlp".into()
    }

    fn config(&self) -> serde_json::Value {
        json!({
            "features": self.hidden_1.inputs(),
            "hidden": self.hidden_1.units(),
            "classes": self.output.units(),
        })
    }
}

impl<E: Real, D: Device<E>, const L: usize> Classifier for BertClassifier<E, D, L> {
    type Elem = E;
    type Dev = D;
    type Feed = TokenInput;

    fn kind(&self) -> String {
        "bert_classifier".into()
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(BertClassifier::config(self)).unwrap_or_default()
    }
}
