//! Seeded shuffling and batching of any [`Dataset`], and turning a [`Batch`] into dfdx tensors.
//!
//! Batches are built on the CPU as flat `Vec`s and copied to the device on request, with
//! runtime (`usize`) dims so one loader serves every batch size. A dataset whose items
//! disagree in shape or input kind, or a batch size of 0, is a [`DataError`] naming the item
//! or the option, never a panic (a learner's own `Dataset` can have such a bug).

use dfdx::shapes::Dtype;
use dfdx::tensor::{Tensor, TensorFromVec};
use dfdx::tensor_ops::Device;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::dataset::{Dataset, Input};
use super::error::{DataError, DataResult};

/// An image batch `(batch, channels, height, width)` with runtime dims.
pub type ImagesTensor<E, D> = Tensor<(usize, usize, usize, usize), E, D>;
/// A sequence batch `(batch, steps, features)` with runtime dims.
pub type SequencesTensor<E, D> = Tensor<(usize, usize, usize), E, D>;
/// A flat batch `(batch, values)`: features, or one-hot labels.
pub type FeaturesTensor<E, D> = Tensor<(usize, usize), E, D>;
/// Token ids `(batch, seq_len)`.
pub type TokensTensor<D> = Tensor<(usize, usize), usize, D>;

/// The inputs of a whole batch, flattened item after item.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchInputs {
    Features(Vec<f32>),
    Tokens(Vec<usize>),
}

/// Some items of a dataset stacked together: inputs, full shape and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub inputs: BatchInputs,
    /// `[batch, ...item_shape]`.
    pub shape: Vec<usize>,
    pub labels: Vec<usize>,
    /// Which dataset items these are, in batch order.
    pub indices: Vec<usize>,
}

/// An iterator of [`Batch`]es over a dataset, in order or shuffled with a seed.
///
/// Every batch has `batch_size` items except possibly the last, which is kept unless
/// [`drop_last`](Batches::drop_last) is set.
pub struct Batches<'a, S: Dataset> {
    dataset: &'a S,
    batch_size: usize,
    order: Vec<usize>,
    position: usize,
    drop_last: bool,
    /// Why no batch can be made (a batch size of 0), handed out as the only item.
    error: Option<DataError>,
}

impl<'a, S: Dataset> Batches<'a, S> {
    /// With `batch_size` 0 no batch can be made: the first item is that error.
    pub fn new(dataset: &'a S, batch_size: usize) -> Self {
        let error = (batch_size == 0).then(|| DataError::Config {
            what: "batch_size".into(),
            why: "must be at least 1".into(),
        });
        let order = if error.is_some() {
            Vec::new()
        } else {
            (0..dataset.len()).collect()
        };
        Batches {
            dataset,
            batch_size: batch_size.max(1),
            order,
            position: 0,
            drop_last: false,
            error,
        }
    }

    /// Visits the items in an order shuffled by `seed`: the same seed, the same order.
    /// For a new order every epoch, pass e.g. `base_seed + epoch`.
    pub fn shuffled(mut self, seed: u64) -> Self {
        if self.error.is_some() {
            return self;
        }
        self.order = (0..self.dataset.len()).collect();
        self.order.shuffle(&mut StdRng::seed_from_u64(seed));
        self
    }

    /// Skip the last batch when it has fewer than `batch_size` items.
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self
    }

    /// How many batches (or the one error) remain.
    pub fn remaining(&self) -> usize {
        let left = self.order.len() - self.position;
        let batches = if self.drop_last {
            left / self.batch_size
        } else {
            left.div_ceil(self.batch_size)
        };
        batches + usize::from(self.error.is_some())
    }
}

impl<S: Dataset> Iterator for Batches<'_, S> {
    type Item = DataResult<Batch>;

    fn next(&mut self) -> Option<DataResult<Batch>> {
        if let Some(e) = self.error.take() {
            return Some(Err(e));
        }
        if self.remaining() == 0 {
            return None;
        }
        let end = (self.position + self.batch_size).min(self.order.len());
        let indices = self.order[self.position..end].to_vec();
        self.position = end;
        Some(collate(self.dataset, indices))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

impl<S: Dataset> ExactSizeIterator for Batches<'_, S> {}

/// Stacks the items at `indices` into one batch; an item whose length or input kind does not
/// match the others is an error that names it.
pub fn collate<S: Dataset + ?Sized>(dataset: &S, indices: Vec<usize>) -> DataResult<Batch> {
    let item_shape = dataset.item_shape();
    let item_len: usize = item_shape.iter().product();
    let mut labels = Vec::with_capacity(indices.len());
    let mut inputs: Option<BatchInputs> = None;
    for &i in &indices {
        let sample = dataset.get(i);
        if sample.input.len() != item_len {
            let why = format!(
                "item {i} has {} values but item_shape {item_shape:?} needs {item_len}",
                sample.input.len()
            );
            return Err(DataError::mismatch("dataset", why));
        }
        labels.push(sample.label);
        match (&mut inputs, sample.input) {
            (None, Input::Features(v)) => inputs = Some(BatchInputs::Features(v)),
            (None, Input::Tokens(v)) => inputs = Some(BatchInputs::Tokens(v)),
            (Some(BatchInputs::Features(all)), Input::Features(v)) => all.extend(v),
            (Some(BatchInputs::Tokens(all)), Input::Tokens(v)) => all.extend(v),
            _ => {
                let why = format!("item {i} mixes token ids and features with other items");
                return Err(DataError::mismatch("dataset", why));
            }
        }
    }
    let mut shape = vec![indices.len()];
    shape.extend_from_slice(&item_shape);
    Ok(Batch {
        inputs: inputs.unwrap_or(BatchInputs::Features(Vec::new())),
        shape,
        labels,
        indices,
    })
}

impl Batch {
    /// Number of items in the batch.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn float_values<E: Dtype + num_traits::Float>(&self, wanted: &str) -> DataResult<Vec<E>> {
        match &self.inputs {
            // f32 -> f32/f64 never fails, so the unwrap cannot fire.
            BatchInputs::Features(v) => Ok(v.iter().map(|&x| E::from(x).unwrap()).collect()),
            BatchInputs::Tokens(_) => Err(DataError::mismatch(
                wanted,
                "this batch holds token ids, not features; use tokens()",
            )),
        }
    }

    fn need_rank(&self, wanted: &str, rank: usize, layout: &str) -> DataResult<()> {
        if self.shape.len() != rank {
            return Err(DataError::mismatch(
                wanted,
                format!(
                    "needs a batch of rank {rank} {layout}, this one has shape {:?}",
                    self.shape
                ),
            ));
        }
        Ok(())
    }

    /// Image batch as `(batch, channels, height, width)` (NCHW); items of shape `[c, h, w]`.
    pub fn images<E, D>(&self, dev: &D) -> DataResult<ImagesTensor<E, D>>
    where
        E: Dtype + num_traits::Float,
        D: Device<E>,
    {
        self.need_rank("images()", 4, "(batch, channels, height, width)")?;
        let v = self.float_values::<E>("images()")?;
        let [b, c, h, w] = [self.shape[0], self.shape[1], self.shape[2], self.shape[3]];
        Ok(dev.tensor_from_vec(v, (b, c, h, w)))
    }

    /// Sequence batch as `(batch, steps, features)`; items of shape `[steps, features]`.
    pub fn sequences<E, D>(&self, dev: &D) -> DataResult<SequencesTensor<E, D>>
    where
        E: Dtype + num_traits::Float,
        D: Device<E>,
    {
        self.need_rank("sequences()", 3, "(batch, steps, features)")?;
        let v = self.float_values::<E>("sequences()")?;
        let [b, t, f] = [self.shape[0], self.shape[1], self.shape[2]];
        Ok(dev.tensor_from_vec(v, (b, t, f)))
    }

    /// Any feature batch flattened to `(batch, values per item)`, e.g. for a `Linear` input.
    pub fn features<E, D>(&self, dev: &D) -> DataResult<FeaturesTensor<E, D>>
    where
        E: Dtype + num_traits::Float,
        D: Device<E>,
    {
        let v = self.float_values::<E>("features()")?;
        let b = self.shape[0];
        let per_item = self.shape[1..].iter().product();
        Ok(dev.tensor_from_vec(v, (b, per_item)))
    }

    /// Token batch as `(batch, seq_len)` of ids, e.g. for an `Embedding`.
    pub fn tokens<D: TensorFromVec<usize>>(&self, dev: &D) -> DataResult<TokensTensor<D>> {
        self.need_rank("tokens()", 2, "(batch, seq_len)")?;
        match &self.inputs {
            BatchInputs::Tokens(v) => Ok(dev.tensor_from_vec(v.clone(), (self.shape[0], self.shape[1]))),
            BatchInputs::Features(_) => Err(DataError::mismatch(
                "tokens()",
                "this batch holds features, not token ids",
            )),
        }
    }

    /// Labels as one-hot rows `(batch, classes)`, e.g. for a cross-entropy target.
    pub fn labels_one_hot<E, D>(&self, dev: &D, classes: usize) -> DataResult<FeaturesTensor<E, D>>
    where
        E: Dtype + num_traits::Float,
        D: Device<E>,
    {
        let mut v = vec![E::zero(); self.len() * classes];
        for (row, &label) in self.labels.iter().enumerate() {
            if label >= classes {
                return Err(DataError::mismatch(
                    "labels_one_hot()",
                    format!("label {label} does not fit {classes} classes"),
                ));
            }
            v[row * classes + label] = E::one();
        }
        Ok(dev.tensor_from_vec(v, (self.len(), classes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::{FeatureSet, TokenSet};
    use dfdx::prelude::*;

    fn ten_images() -> FeatureSet {
        // Item i is a 1×2×2 image whose values are all i.
        let features = (0..10).flat_map(|i| [i as f32; 4]).collect();
        let labels = (0..10).map(|i| i % 3).collect();
        FeatureSet::new(features, vec![1, 2, 2], labels, vec![]).unwrap()
    }

    #[test]
    fn batches_keep_or_drop_the_last_partial_batch() {
        let ds = ten_images();
        let sizes: Vec<usize> = ds.batches(4).map(|b| b.unwrap().len()).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        let sizes: Vec<usize> = ds.batches(4).drop_last(true).map(|b| b.unwrap().len()).collect();
        assert_eq!(sizes, vec![4, 4]);
        assert_eq!(ds.batches(5).len(), 2);
        let last = ds.batches(4).last().unwrap().unwrap();
        assert_eq!(last.shape, vec![2, 1, 2, 2]);
        assert_eq!(last.indices, vec![8, 9]);
        assert_eq!(last.labels, vec![2, 0]);
    }

    #[test]
    fn shuffling_is_seeded_and_covers_every_item_once() {
        let ds = ten_images();
        let order = |seed| -> Vec<usize> {
            ds.batches(3)
                .shuffled(seed)
                .flat_map(|b| b.unwrap().indices)
                .collect()
        };
        assert_eq!(order(7), order(7));
        assert_ne!(order(7), order(8));
        let mut all = order(7);
        assert_ne!(all, (0..10).collect::<Vec<_>>());
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        // Inputs travel with their indices.
        let b = ds.batches(3).shuffled(7).next().unwrap().unwrap();
        let BatchInputs::Features(v) = &b.inputs else {
            panic!("features expected")
        };
        assert_eq!(v[4], b.indices[1] as f32);
    }

    #[test]
    fn image_batch_becomes_nchw_tensor() {
        let dev: Cpu = Default::default();
        let b = ten_images().batches(4).next().unwrap().unwrap();
        let t = b.images::<f32, _>(&dev).unwrap();
        assert_eq!(t.shape().concrete(), [4, 1, 2, 2]);
        assert_eq!(t.as_vec()[4..8], [1.0; 4]);
        let t = b.images::<f64, _>(&dev).unwrap();
        assert_eq!(t.as_vec()[15], 3.0f64);
        let flat = b.features::<f32, _>(&dev).unwrap();
        assert_eq!(flat.shape().concrete(), [4, 4]);
        let e = b.sequences::<f32, _>(&dev).unwrap_err();
        assert!(e.to_string().contains("rank 3"), "{e}");
        assert!(b.tokens(&dev).is_err());
    }

    #[test]
    fn one_hot_labels() {
        let dev: Cpu = Default::default();
        let b = ten_images().batches(3).next().unwrap().unwrap();
        let y = b.labels_one_hot::<f32, _>(&dev, 3).unwrap();
        assert_eq!(y.as_vec(), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        assert!(b.labels_one_hot::<f32, _>(&dev, 2).is_err());
    }

    #[test]
    fn token_batches_become_id_tensors() {
        let dev: Cpu = Default::default();
        let ts = TokenSet::new(vec![1, 2, 0, 3, 4, 5], 3, vec![0, 1], vec![]).unwrap();
        let b = ts.batches(2).next().unwrap().unwrap();
        assert_eq!(b.shape, vec![2, 3]);
        let t = b.tokens(&dev).unwrap();
        assert_eq!(t.shape().concrete(), [2, 3]);
        assert_eq!(t.as_vec(), vec![1, 2, 0, 3, 4, 5]);
        assert!(b.features::<f32, _>(&dev).is_err());
    }

    #[test]
    fn sequence_batch_is_batch_steps_features() {
        let dev: Cpu = Default::default();
        let ds = FeatureSet::new(
            (0..12).map(|x| x as f32).collect(),
            vec![3, 2],
            vec![0, 1],
            vec![],
        )
        .unwrap();
        let t = ds
            .batches(2)
            .next()
            .unwrap()
            .unwrap()
            .sequences::<f32, _>(&dev)
            .unwrap();
        assert_eq!(t.shape().concrete(), [2, 3, 2]);
    }
}
