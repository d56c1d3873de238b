//! Embedding table, Keras `Embedding(input_dim, output_dim)`: row `id` of `E` for every id.
//!
//! Shapes: ids `(batch, steps)` (usize) -> `(batch, steps, dim)`; `E` is `(vocabulary, dim)`.
//! Token, position and segment embeddings of the Transformer and BERT are all this layer,
//! looked up with token ids, positions `0, 1, …` and segment ids. An id outside the table
//! is an error that names it and its place.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let mut table = Embedding::<f32, Cpu>::new(&dev, 3, 2);
//! table.weight = dev.tensor_from_vec(vec![0.0, 0.1, 1.0, 1.1, 2.0, 2.1], (3, 2));
//! let ids = dev.tensor_from_vec(vec![2usize, 0], (1, 2)); // one sequence: ids 2, 0
//! assert_eq!(table.forward(ids).as_vec(), [2.0, 2.1, 0.0, 0.1]); // rows 2 and 0
//! ```

use super::{trainable, Dyn2, Dyn3, Real};
use crate::{Error, Result};
use dfdx::prelude::*;

#[derive(Debug, Clone)]
pub struct Embedding<E: Dtype, D: Storage<E>> {
    /// `E`, shape `(vocabulary, dim)`.
    pub weight: Tensor<Dyn2, E, D>,
}

impl<E: Real, D: Device<E>> Embedding<E, D> {
    /// Rows drawn from N(0, 0.02²), BERT's initialisation.
    pub fn new(dev: &D, vocabulary: usize, dim: usize) -> Self {
        use rand::{Rng, SeedableRng};
        // Drawn on the host from the device's seeded generator, so runs repeat for a seed.
        let mut rng = rand::rngs::StdRng::seed_from_u64(dev.random_u64());
        let normal = rand_distr::Normal::new(0.0, 0.02).unwrap();
        let values = (0..vocabulary * dim)
            .map(|_| E::from_f64(rng.sample(normal)).unwrap())
            .collect();
        Self {
            weight: dev.tensor_from_vec(values, (vocabulary, dim)),
        }
    }

    pub fn vocabulary(&self) -> usize {
        self.weight.shape().0
    }

    pub fn dim(&self) -> usize {
        self.weight.shape().1
    }

    /// Looks up `ids`, recording the lookup on the tape `T` (for positions, which carry no tape).
    pub fn lookup<T: Tape<E, D>>(&self, ids: Tensor<Dyn2, usize, D>) -> Result<Tensor<Dyn3, E, D, T>> {
        self.check_ids(&ids)?;
        Ok(self.weight.retaped::<T>().gather(ids)) // (V, C) gathered by (B, S) -> (B, S, C)
    }

    fn check_ids(&self, ids: &Tensor<Dyn2, usize, D>) -> Result<()> {
        let (_, steps) = *ids.shape();
        let v = self.vocabulary();
        match ids.as_vec().iter().position(|&id| id >= v) {
            None => Ok(()),
            Some(at) => Err(Error::config(
                "Embedding",
                format!(
                    "id {} at (batch {}, step {}) is outside the table of {v} rows",
                    ids.as_vec()[at],
                    at / steps,
                    at % steps
                ),
            )),
        }
    }
}

impl<E: Real, D: Device<E>> super::OutputShape for Embedding<E, D> {
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input {
            [b, s] => Ok(vec![*b, *s, self.dim()]),
            _ => Err(Error::shape("Embedding", "ids (batch, steps)", input)),
        }
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn2, usize, D, T>> for Embedding<E, D> {
    type Output = Tensor<Dyn3, E, D, T>;
    type Error = Error;

    fn try_forward(&self, ids: Tensor<Dyn2, usize, D, T>) -> Result<Self::Output> {
        let (ids, tape) = ids.split_tape();
        let out = self.lookup::<T>(ids)?;
        Ok(super::tapes::with_tapes(out, tape))
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for Embedding<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Embedding<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            Self::tensor("weight", |s| &s.weight, |s| &mut s.weight, trainable()),
            |weight| Embedding { weight },
        )
    }
}
