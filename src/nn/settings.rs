//! A layer's hyperparameters (stride, padding, ε, heads…), kept in a small non-trainable tensor.
//!
//! dfdx rebuilds a module from its tensors alone when it moves it to another dtype or device
//! (`to_dtype`, `to_device`), and resets plain scalar fields to their defaults on the way.
//! Values stored here travel with the weights instead: they are saved and loaded with
//! safetensors, moved between devices and dtypes, and never touched by an optimizer.
//! Values are small integers (exact in f32 and f64) or ε (see [`Settings::get`]).

use super::{runtime_options, Dyn1, Real};
use dfdx::prelude::*;

#[derive(Debug, Clone)]
pub struct Settings<E: Dtype, D: Storage<E>> {
    pub values: Tensor<Dyn1, E, D>,
}

impl<E: Real, D: Device<E>> Settings<E, D> {
    pub fn new(dev: &D, values: &[f64]) -> Self {
        let values = values
            .iter()
            .map(|&v| E::from_f64(v).unwrap())
            .collect::<Vec<_>>();
        let n = values.len();
        Self {
            values: dev.tensor_from_vec(values, (n,)),
        }
    }

    /// The `i`-th value. In f32, non-integers such as ε = 1e-12 are not exact, so they are read
    /// back as the shortest decimal that f32 holds for them (7 significant digits).
    pub fn get(&self, i: usize) -> f64 {
        let v = self.values.as_vec()[i].to_f64().unwrap();
        let f32_like = E::epsilon().to_f64().unwrap() > 1e-10;
        if f32_like && v.fract() != 0.0 {
            format!("{v:.6e}").parse().unwrap_or(v)
        } else {
            v
        }
    }

    /// The `i`-th value as a count or size.
    pub fn count(&self, i: usize) -> usize {
        self.get(i).round() as usize
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for Settings<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Settings<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            Self::tensor(
                "values",
                |s| &s.values,
                |s| &mut s.values,
                runtime_options(false, |_| Ok(())),
            ),
            |values| Settings { values },
        )
    }
}
