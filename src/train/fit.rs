//! [`fit`], [`evaluate`] and [`predict`]: Keras's training loop for any [`Trainable`] model.
//!
//! One step: batch → input tensor with the tape → logits → softmax cross-entropy against
//! one-hot labels → backward → optimizer update → zero the gradients. The cancel flag is
//! checked before every batch, so a cancelled run returns within one batch with the model
//! as the last update left it. Only single-label classification; no learning-rate
//! schedules, no gradient clipping, one device.

use std::time::Instant;

use dfdx::optim::{Adam, OptimizerUpdateError, RMSprop, Sgd};
use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::callbacks::{Callback, Control};
use super::cancel::{install_sigint_handler, is_cancelled, reset_cancel, TrainingGuard};
use super::config::{FitConfig, Optimizer as OptimizerKind, Validation, Verbose};
use super::error::{TrainError, TrainResult};
use super::feed::{Logits, Trainable};
use super::history::{EpochLogs, History, Metrics, StopReason};
use super::observer::{BatchProgress, LiveCurves, Observer, Plan, Silent, TextProgress};
use crate::data::{collate, stratified_split_indices, Batch, Dataset};

/// Trains `model` on `data` as `cfg` says and returns what each epoch measured.
///
/// ```
/// use ferrolab::prelude::*;
/// let data = ferrolab::data::digits().stratified_split(0.2, 7)?; // 8×8 digits as 64 features
/// let mut model = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(1), 64, 32, 10);
/// let cfg = FitConfig::default().epochs(3).validation_split(0.1).verbose(Verbose::Silent);
/// let history = fit(&mut model, &data.train, &cfg)?;
/// assert_eq!(history.epochs(), 3);
/// assert!(history.loss[2] < history.loss[0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fit<M: Trainable, S: Dataset>(model: &mut M, data: &S, cfg: &FitConfig) -> TrainResult<History> {
    let mut observer: Box<dyn Observer> = match cfg.verbose {
        Verbose::Silent => Box::new(Silent),
        Verbose::Lines => Box::new(TextProgress::new()),
        Verbose::Live => Box::new(LiveCurves::new()),
    };
    fit_with(model, data, cfg, &mut [], observer.as_mut())
}

/// [`fit`] with callbacks (early stopping, checkpoints, CSV logs, your own) and an observer
/// of your choice; `cfg.verbose` is ignored.
pub fn fit_with<M: Trainable, S: Dataset>(
    model: &mut M,
    data: &S,
    cfg: &FitConfig,
    callbacks: &mut [&mut dyn Callback<M>],
    observer: &mut dyn Observer,
) -> TrainResult<History> {
    cfg.check()?;
    let (train, validation) = split(data, cfg)?;
    if train.is_empty() {
        return Err(TrainError::config("fit", "the training data is empty"));
    }
    if validation.as_ref().is_some_and(|(_, idx)| idx.is_empty()) {
        let why = format!(
            "no validation items: {:?} of {} items leaves none",
            cfg.validation,
            data.len()
        );
        return Err(TrainError::config("FitConfig.validation", why));
    }
    reset_cancel();
    // Without the handler Ctrl-C still stops the process, just not gracefully: not fatal.
    let _ = install_sigint_handler();
    let _training = TrainingGuard::start();
    let dev = model.device()?;
    let mut step = Stepper::new(model, cfg);
    let plan = Plan {
        epochs: cfg.epochs,
        batches_per_epoch: train.len().div_ceil(cfg.batch_size),
        train_items: train.len(),
        val_items: validation.as_ref().map_or(0, |(_, idx)| idx.len()),
    };
    observer.on_train_begin(&plan);
    for cb in callbacks.iter_mut() {
        cb.on_train_begin(model)?;
    }
    let mut history = History::default();
    for epoch in 1..=cfg.epochs {
        history.stopped_epoch = epoch;
        let order = epoch_order(&train, cfg, epoch);
        let Some(train_metrics) = run_epoch(
            model, data, &order, epoch, &dev, &mut step, cfg, callbacks, observer,
        )?
        else {
            history.interrupted = true;
            history.stop_reason = StopReason::Interrupted;
            break;
        };
        let val = match &validation {
            Some((set, idx)) => Some(evaluate_items(model, *set, idx, cfg.batch_size, &dev)?),
            None => None,
        };
        let logs = EpochLogs {
            epoch,
            loss: train_metrics.loss,
            accuracy: train_metrics.accuracy,
            val_loss: val.map(|m| m.loss),
            val_accuracy: val.map(|m| m.accuracy),
        };
        history.push(&logs);
        observer.on_epoch_end(&logs, &history);
        if let Some(name) = ask_callbacks(callbacks, &logs, model)? {
            history.stop_reason = StopReason::Callback(name);
            break;
        }
    }
    for cb in callbacks.iter_mut() {
        cb.on_train_end(&history, model)?;
    }
    observer.on_train_end(&history);
    Ok(history)
}

/// Every callback sees the epoch; the name of the first that asked to stop, if any.
fn ask_callbacks<M>(
    callbacks: &mut [&mut dyn Callback<M>],
    logs: &EpochLogs,
    model: &M,
) -> TrainResult<Option<String>> {
    let mut stop = None;
    for cb in callbacks.iter_mut() {
        if cb.on_epoch_end(logs, model)? == Control::Stop && stop.is_none() {
            stop = Some(cb.name());
        }
    }
    Ok(stop)
}

/// One pass over `order`; `None` when cancelled before the pass ended.
#[allow(clippy::too_many_arguments)]
fn run_epoch<M: Trainable, S: Dataset>(
    model: &mut M,
    data: &S,
    order: &[usize],
    epoch: usize,
    dev: &M::Dev,
    step: &mut Stepper<M>,
    cfg: &FitConfig,
    callbacks: &mut [&mut dyn Callback<M>],
    observer: &mut dyn Observer,
) -> TrainResult<Option<Metrics>> {
    let started = Instant::now();
    let batches = order.len().div_ceil(cfg.batch_size);
    let mut totals = Totals::default();
    for (i, chunk) in order.chunks(cfg.batch_size).enumerate() {
        if is_cancelled() {
            return Ok(None);
        }
        let batch = collate(data, chunk.to_vec())?;
        let (loss, correct) = step.train(model, &batch, dev)?;
        totals.add(loss, correct, batch.len());
        let progress = BatchProgress {
            epoch,
            epochs: cfg.epochs,
            batch: i + 1,
            batches,
            loss: totals.loss(),
            accuracy: totals.accuracy(),
            elapsed: started.elapsed(),
        };
        observer.on_batch_end(&progress);
        for cb in callbacks.iter_mut() {
            cb.on_batch_end(&progress, model)?;
        }
    }
    Ok(Some(totals.metrics()))
}

/// The training items' order for one epoch: a fresh seeded shuffle each epoch.
fn epoch_order(train: &[usize], cfg: &FitConfig, epoch: usize) -> Vec<usize> {
    let mut order = train.to_vec();
    if cfg.shuffle {
        let seed = cfg.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64);
        order.shuffle(&mut StdRng::seed_from_u64(seed));
    }
    order
}

type ValidationSet<'a> = Option<(&'a dyn Dataset, Vec<usize>)>;

/// Training item indices, and the validation set with its item indices.
fn split<'a, S: Dataset>(data: &'a S, cfg: &'a FitConfig) -> TrainResult<(Vec<usize>, ValidationSet<'a>)> {
    let all: Vec<usize> = (0..data.len()).collect();
    match &cfg.validation {
        Validation::None => Ok((all, None)),
        Validation::Data(set) => {
            let idx = (0..set.len()).collect();
            Ok((all, Some((set.as_ref(), idx))))
        }
        Validation::Split(share) => {
            let labels: Vec<usize> = all.iter().map(|&i| data.get(i).label).collect();
            let (train, val) = stratified_split_indices(&labels, *share, cfg.seed)?;
            Ok((train, Some((data as &dyn Dataset, val))))
        }
    }
}

/// Running sums over an epoch's batches.
#[derive(Default)]
struct Totals {
    loss_sum: f64,
    correct: usize,
    items: usize,
}

impl Totals {
    /// `loss` is the batch's mean per item.
    fn add(&mut self, loss: f64, correct: usize, items: usize) {
        self.loss_sum += loss * items as f64;
        self.correct += correct;
        self.items += items;
    }

    fn loss(&self) -> f64 {
        self.loss_sum / self.items.max(1) as f64
    }

    fn accuracy(&self) -> f64 {
        self.correct as f64 / self.items.max(1) as f64
    }

    fn metrics(&self) -> Metrics {
        Metrics {
            loss: self.loss(),
            accuracy: self.accuracy(),
        }
    }
}

/// The optimizer and the gradient buffers, reused across steps.
struct Stepper<M: Trainable> {
    optimizer: AnyOptimizer<M>,
    grads: Option<Gradients<M::Elem, M::Dev>>,
}

enum AnyOptimizer<M: Trainable> {
    Adam(Adam<M, M::Elem, M::Dev>),
    Sgd(Sgd<M, M::Elem, M::Dev>),
    RmsProp(RMSprop<M, M::Elem, M::Dev>),
}

impl<M: Trainable> Stepper<M> {
    fn new(model: &M, cfg: &FitConfig) -> Self {
        let lr = cfg.learning_rate;
        let optimizer = match cfg.optimizer {
            OptimizerKind::Adam => AnyOptimizer::Adam(Adam::new(
                model,
                AdamConfig {
                    lr,
                    ..Default::default()
                },
            )),
            OptimizerKind::Sgd { momentum } => AnyOptimizer::Sgd(Sgd::new(
                model,
                SgdConfig {
                    lr,
                    momentum: (momentum > 0.0).then_some(Momentum::Classic(momentum)),
                    weight_decay: None,
                },
            )),
            OptimizerKind::RmsProp => AnyOptimizer::RmsProp(RMSprop::new(
                model,
                RMSpropConfig {
                    lr,
                    alpha: 0.9,
                    eps: 1e-7,
                    ..Default::default()
                },
            )),
        };
        Stepper {
            optimizer,
            grads: None,
        }
    }

    /// One update on `batch`; the batch's mean loss and its count of correct predictions.
    fn train(&mut self, model: &mut M, batch: &Batch, dev: &M::Dev) -> TrainResult<(f64, usize)> {
        let grads = match self.grads.take() {
            Some(g) => g,
            None => model.alloc_grads(),
        };
        let logits = model.logits_traced(batch, dev, grads)?;
        let classes = logits.shape().1;
        let correct = count_correct(&logits.as_vec(), classes, &batch.labels);
        let targets = batch.labels_one_hot(dev, classes)?;
        let loss = cross_entropy_with_logits_loss(logits, targets);
        let loss_value = scalar(&loss.as_vec());
        let mut grads = loss.backward();
        self.update(model, &grads)?;
        model.zero_grads(&mut grads);
        self.grads = Some(grads);
        Ok((loss_value, correct))
    }

    fn update(&mut self, model: &mut M, grads: &Gradients<M::Elem, M::Dev>) -> TrainResult<()> {
        let result = match &mut self.optimizer {
            AnyOptimizer::Adam(o) => o.update(model, grads),
            AnyOptimizer::Sgd(o) => o.update(model, grads),
            AnyOptimizer::RmsProp(o) => o.update(model, grads),
        };
        match result {
            // A parameter the forward pass never touched just keeps its value, as in Keras.
            Ok(()) | Err(OptimizerUpdateError::UnusedParams(_)) => Ok(()),
            Err(OptimizerUpdateError::DeviceError(e)) => Err(TrainError::Optimizer(format!("{e:?}"))),
        }
    }
}

/// A rank-0 tensor's value as f64 (`as_vec` because dfdx's `array()` needs a device bound
/// that generic code cannot name).
fn scalar<E: num_traits::ToPrimitive>(values: &[E]) -> f64 {
    values.first().and_then(E::to_f64).unwrap_or(f64::NAN)
}

/// Rows of `logits` whose largest value sits at the label.
fn count_correct<E: PartialOrd + Copy>(logits: &[E], classes: usize, labels: &[usize]) -> usize {
    argmax_rows(logits, classes)
        .zip(labels)
        .filter(|(p, l)| p == *l)
        .count()
}

/// The index of each row's largest value (the first one on ties).
fn argmax_rows<E: PartialOrd + Copy>(values: &[E], classes: usize) -> impl Iterator<Item = usize> + '_ {
    values.chunks(classes.max(1)).map(|row| {
        let mut best = 0;
        for (i, v) in row.iter().enumerate() {
            if *v > row[best] {
                best = i;
            }
        }
        best
    })
}

/// Mean loss and accuracy of `model` on `data`, without updating it.
pub fn evaluate<M: Trainable, S: Dataset>(model: &M, data: &S, batch_size: usize) -> TrainResult<Metrics> {
    let idx: Vec<usize> = (0..data.len()).collect();
    evaluate_items(model, data, &idx, batch_size, &model.device()?)
}

fn evaluate_items<M: Trainable, S: Dataset + ?Sized>(
    model: &M,
    data: &S,
    items: &[usize],
    batch_size: usize,
    dev: &M::Dev,
) -> TrainResult<Metrics> {
    let mut totals = Totals::default();
    for_each_batch(model, data, items, batch_size, dev, |batch, logits| {
        let classes = logits.shape().1;
        let correct = count_correct(&logits.as_vec(), classes, &batch.labels);
        let targets = batch.labels_one_hot(dev, classes)?;
        let loss = cross_entropy_with_logits_loss(logits, targets);
        totals.add(scalar(&loss.as_vec()), correct, batch.len());
        Ok(())
    })?;
    Ok(totals.metrics())
}

/// Runs the model over `items` in batches of `batch_size` and hands each batch's logits on.
fn for_each_batch<M: Trainable, S: Dataset + ?Sized>(
    model: &M,
    data: &S,
    items: &[usize],
    batch_size: usize,
    dev: &M::Dev,
    mut f: impl FnMut(&Batch, Logits<M::Elem, M::Dev>) -> TrainResult<()>,
) -> TrainResult<()> {
    if batch_size == 0 {
        return Err(TrainError::config("batch_size", "must be at least 1"));
    }
    for chunk in items.chunks(batch_size) {
        let batch = collate(data, chunk.to_vec())?;
        let logits = model.logits(&batch, dev)?;
        f(&batch, logits)?;
    }
    Ok(())
}

/// The predicted class of every item of `data`, in order.
pub fn predict<M: Trainable, S: Dataset>(model: &M, data: &S, batch_size: usize) -> TrainResult<Vec<usize>> {
    let mut classes = Vec::with_capacity(data.len());
    let idx: Vec<usize> = (0..data.len()).collect();
    for_each_batch(model, data, &idx, batch_size, &model.device()?, |_, logits| {
        let n = logits.shape().1;
        classes.extend(argmax_rows(&logits.as_vec(), n));
        Ok(())
    })?;
    Ok(classes)
}

/// Class probabilities (softmax of the logits) of every item of `data`, one row per item.
pub fn predict_proba<M: Trainable, S: Dataset>(
    model: &M,
    data: &S,
    batch_size: usize,
) -> TrainResult<Vec<Vec<f64>>> {
    let mut rows = Vec::with_capacity(data.len());
    let idx: Vec<usize> = (0..data.len()).collect();
    for_each_batch(model, data, &idx, batch_size, &model.device()?, |_, logits| {
        let n = logits.shape().1;
        let probs = logits.softmax::<Axis<1>>().as_vec();
        rows.extend(probs.chunks(n.max(1)).map(|r| {
            r.iter()
                .map(|p| num_traits::ToPrimitive::to_f64(p).unwrap_or(f64::NAN))
                .collect()
        }));
        Ok(())
    })?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_ties_and_counts_hits() {
        let logits = [0.1, 0.9, 0.0, 0.5, 0.5, 0.2];
        assert_eq!(argmax_rows(&logits, 3).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(count_correct(&logits, 3, &[1, 2]), 1);
    }

    #[test]
    fn epoch_orders_differ_by_epoch_and_repeat_by_seed() {
        let train: Vec<usize> = (0..50).collect();
        let cfg = FitConfig::default().seed(3);
        assert_eq!(epoch_order(&train, &cfg, 1), epoch_order(&train, &cfg, 1));
        assert_ne!(epoch_order(&train, &cfg, 1), epoch_order(&train, &cfg, 2));
        let mut sorted = epoch_order(&train, &cfg, 1);
        sorted.sort_unstable();
        assert_eq!(sorted, train);
        assert_eq!(epoch_order(&train, &cfg.clone().shuffle(false), 1), train);
    }
}
