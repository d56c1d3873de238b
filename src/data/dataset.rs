//! The [`Dataset`] trait and the two in-memory datasets every loader here returns.
//!
//! A dataset is a list of items, each with one shape, an input (f32 features or token
//! ids) and a class label. [`FeatureSet`] holds f32 features, [`TokenSet`] token ids;
//! both keep their class names. Datasets with other kinds of targets (regression,
//! sequence labels) are out of scope: every item has exactly one class.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::batch::Batches;
use super::error::{DataError, DataResult};
use super::preview::Preview;

/// One item's input: dense features or token ids, flattened in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Features(Vec<f32>),
    Tokens(Vec<usize>),
}

impl Input {
    pub fn len(&self) -> usize {
        match self {
            Input::Features(v) => v.len(),
            Input::Tokens(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One item of a dataset: its input and its class index.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub input: Input,
    pub label: usize,
}

/// A list of labelled items that users can implement for their own data.
///
/// Every item must have the shape [`item_shape`](Dataset::item_shape) (its input holds
/// the product of those dims) and the same kind of [`Input`]; batching panics otherwise.
pub trait Dataset {
    /// How many items there are.
    fn len(&self) -> usize;

    /// The shape of one item, without the batch dim: `[1, 28, 28]` for an MNIST image.
    fn item_shape(&self) -> Vec<usize>;

    /// The item at `index` (0-based). May panic when `index >= len()`.
    fn get(&self, index: usize) -> Sample;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class names, index = label; empty when the dataset does not know them.
    fn classes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Batches of `batch_size` items in order; see [`Batches`] for shuffling and
    /// dropping the last partial batch.
    fn batches(&self, batch_size: usize) -> Batches<'_, Self>
    where
        Self: Sized,
    {
        Batches::new(self, batch_size)
    }

    /// A text table of the first `n` items (index, shape, label).
    fn preview(&self, n: usize) -> Preview
    where
        Self: Sized,
    {
        Preview::of(self, n)
    }
}

/// A borrowed dataset is a dataset: `fit(&mut model, &data, …)` takes `&dyn Dataset` too.
impl<T: Dataset + ?Sized> Dataset for &T {
    fn len(&self) -> usize {
        (**self).len()
    }

    fn item_shape(&self) -> Vec<usize> {
        (**self).item_shape()
    }

    fn get(&self, index: usize) -> Sample {
        (**self).get(index)
    }

    fn classes(&self) -> Vec<String> {
        (**self).classes()
    }
}

/// Splits indices class by class: each class gives `round(count * test_fraction)` of its
/// items to the test side, chosen by a seeded shuffle, so both sides keep the class mix.
pub fn stratified_split_indices(
    labels: &[usize],
    test_fraction: f64,
    seed: u64,
) -> DataResult<(Vec<usize>, Vec<usize>)> {
    if !(0.0..=1.0).contains(&test_fraction) {
        return Err(DataError::config(
            "stratified split",
            format!("test_fraction must be in 0..=1, got {test_fraction}"),
        ));
    }
    let classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &label) in labels.iter().enumerate() {
        by_class[label].push(i);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut members in by_class {
        members.shuffle(&mut rng);
        let n_test = (members.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&members[..n_test]);
        train.extend_from_slice(&members[n_test..]);
    }
    // Sorted so that unshuffled batches see the original order, not class blocks.
    train.sort_unstable();
    test.sort_unstable();
    Ok((train, test))
}

/// A train part and a test part of one dataset.
#[derive(Debug, Clone)]
pub struct Split<T> {
    pub train: T,
    pub test: T,
}

/// Items of f32 features, all of one shape, with class labels; held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSet {
    /// All items' features, item after item, each in row-major order.
    pub features: Vec<f32>,
    pub item_shape: Vec<usize>,
    pub labels: Vec<usize>,
    /// Class names, index = label.
    pub classes: Vec<String>,
}

impl FeatureSet {
    /// Checks that `features` holds `labels.len()` items of `item_shape` and labels fit
    /// `classes` (when classes are given).
    pub fn new(
        features: Vec<f32>,
        item_shape: Vec<usize>,
        labels: Vec<usize>,
        classes: Vec<String>,
    ) -> DataResult<Self> {
        let item_len: usize = item_shape.iter().product();
        if features.len() != item_len * labels.len() {
            return Err(DataError::mismatch(
                "FeatureSet",
                format!(
                    "{} labels of shape {:?} need {} features, got {}",
                    labels.len(),
                    item_shape,
                    item_len * labels.len(),
                    features.len()
                ),
            ));
        }
        if !classes.is_empty() {
            if let Some(&bad) = labels.iter().find(|&&l| l >= classes.len()) {
                return Err(DataError::mismatch(
                    "FeatureSet",
                    format!("label {bad} but only {} classes", classes.len()),
                ));
            }
        }
        Ok(FeatureSet {
            features,
            item_shape,
            labels,
            classes,
        })
    }

    /// Number of f32 values in one item.
    pub fn item_len(&self) -> usize {
        self.item_shape.iter().product()
    }

    /// The features of item `index`.
    pub fn item(&self, index: usize) -> &[f32] {
        let n = self.item_len();
        &self.features[index * n..(index + 1) * n]
    }

    /// A new set with the items at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> FeatureSet {
        let mut features = Vec::with_capacity(indices.len() * self.item_len());
        for &i in indices {
            features.extend_from_slice(self.item(i));
        }
        FeatureSet {
            features,
            item_shape: self.item_shape.clone(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes.clone(),
        }
    }

    /// The same items viewed with another shape of equal size, e.g. `[64]` as `[1, 8, 8]`.
    pub fn reshape(mut self, item_shape: &[usize]) -> DataResult<FeatureSet> {
        let new_len: usize = item_shape.iter().product();
        if new_len != self.item_len() {
            return Err(DataError::mismatch(
                "reshape",
                format!(
                    "items of shape {:?} ({} values) cannot become {:?} ({} values)",
                    self.item_shape,
                    self.item_len(),
                    item_shape,
                    new_len
                ),
            ));
        }
        self.item_shape = item_shape.to_vec();
        Ok(self)
    }

    /// Seeded stratified split; see [`stratified_split_indices`].
    pub fn stratified_split(&self, test_fraction: f64, seed: u64) -> DataResult<Split<FeatureSet>> {
        let (train, test) = stratified_split_indices(&self.labels, test_fraction, seed)?;
        Ok(Split {
            train: self.subset(&train),
            test: self.subset(&test),
        })
    }

    /// How many items each class has, index = label.
    pub fn class_counts(&self) -> Vec<usize> {
        count_classes(&self.labels, self.classes.len())
    }
}

impl Dataset for FeatureSet {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.item_shape.clone()
    }

    fn get(&self, index: usize) -> Sample {
        Sample {
            input: Input::Features(self.item(index).to_vec()),
            label: self.labels[index],
        }
    }

    fn classes(&self) -> Vec<String> {
        self.classes.clone()
    }
}

/// Items of token ids, each padded to `seq_len`, with class labels; held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSet {
    /// All items' ids, item after item.
    pub ids: Vec<usize>,
    pub seq_len: usize,
    pub labels: Vec<usize>,
    pub classes: Vec<String>,
}

impl TokenSet {
    pub fn new(
        ids: Vec<usize>,
        seq_len: usize,
        labels: Vec<usize>,
        classes: Vec<String>,
    ) -> DataResult<Self> {
        if ids.len() != seq_len * labels.len() {
            return Err(DataError::mismatch(
                "TokenSet",
                format!(
                    "{} labels of length {seq_len} need {} ids, got {}",
                    labels.len(),
                    seq_len * labels.len(),
                    ids.len()
                ),
            ));
        }
        Ok(TokenSet {
            ids,
            seq_len,
            labels,
            classes,
        })
    }

    pub fn item(&self, index: usize) -> &[usize] {
        &self.ids[index * self.seq_len..(index + 1) * self.seq_len]
    }

    pub fn subset(&self, indices: &[usize]) -> TokenSet {
        let mut ids = Vec::with_capacity(indices.len() * self.seq_len);
        for &i in indices {
            ids.extend_from_slice(self.item(i));
        }
        TokenSet {
            ids,
            seq_len: self.seq_len,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes.clone(),
        }
    }

    pub fn stratified_split(&self, test_fraction: f64, seed: u64) -> DataResult<Split<TokenSet>> {
        let (train, test) = stratified_split_indices(&self.labels, test_fraction, seed)?;
        Ok(Split {
            train: self.subset(&train),
            test: self.subset(&test),
        })
    }

    pub fn class_counts(&self) -> Vec<usize> {
        count_classes(&self.labels, self.classes.len())
    }
}

impl Dataset for TokenSet {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        vec![self.seq_len]
    }

    fn get(&self, index: usize) -> Sample {
        Sample {
            input: Input::Tokens(self.item(index).to_vec()),
            label: self.labels[index],
        }
    }

    fn classes(&self) -> Vec<String> {
        self.classes.clone()
    }
}

fn count_classes(labels: &[usize], classes: usize) -> Vec<usize> {
    let n = labels.iter().map(|&l| l + 1).max().unwrap_or(0).max(classes);
    let mut counts = vec![0; n];
    for &l in labels {
        counts[l] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> FeatureSet {
        // 10 items of 2 features, labels 0,0,0,0,1,1,1,1,1,1; feature 0 = item index.
        let labels = vec![0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        let features = (0..10).flat_map(|i| [i as f32, 0.5]).collect();
        FeatureSet::new(features, vec![2], labels, vec!["a".into(), "b".into()]).unwrap()
    }

    #[test]
    fn new_rejects_wrong_sizes_and_labels() {
        let e = FeatureSet::new(vec![0.0; 5], vec![2], vec![0, 1], vec![]).unwrap_err();
        assert!(e.to_string().contains("need 4 features, got 5"), "{e}");
        let e = FeatureSet::new(vec![0.0; 4], vec![2], vec![0, 2], vec!["a".into(), "b".into()]).unwrap_err();
        assert!(e.to_string().contains("label 2 but only 2 classes"), "{e}");
    }

    #[test]
    fn split_keeps_class_proportions_and_is_disjoint() {
        let s = toy().stratified_split(0.5, 1).unwrap();
        assert_eq!(s.test.class_counts(), vec![2, 3]);
        assert_eq!(s.train.class_counts(), vec![2, 3]);
        let mut all: Vec<usize> = s
            .train
            .features
            .iter()
            .chain(&s.test.features)
            .step_by(2)
            .map(|&x| x as usize)
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn split_rejects_bad_fraction() {
        let e = toy().stratified_split(1.5, 0).unwrap_err();
        assert!(e.to_string().contains("test_fraction"), "{e}");
    }

    #[test]
    fn reshape_checks_size() {
        assert_eq!(toy().reshape(&[1, 2]).unwrap().item_shape, vec![1, 2]);
        assert!(toy().reshape(&[3]).is_err());
    }
}
