//! A layer's hyperparameters (stride, padding, ε, heads…), kept in a small non-trainable tensor.
//!
//! dfdx rebuilds a module from its tensors alone when it moves it to another dtype or device
//! (`to_dtype`, `to_device`), and resets plain scalar fields to their defaults on the way.
//! Values stored here travel with the weights instead: they are saved and loaded with
//! safetensors, moved between devices and dtypes, and never touched by an optimizer.
//!
//! The tensor is read once and its values kept decoded beside it, so a layer's typed
//! accessors (`Conv2D::config`, `LayerNorm::epsilon`, …) copy nothing from the device. dfdx
//! writes a tensor only through a mutable visit (loading weights does), so such a visit
//! drops the decoded values and the next read decodes again; an optimizer's step is such a
//! visit too (it skips this tensor, but asks for it), so training reads the values once per
//! step, not once per use. Values are small integers (exact in f32 and f64) or ε (see
//! [`Settings::get`]).

use super::{runtime_options, Dyn1, Real};
use dfdx::prelude::*;
use std::sync::OnceLock;

#[derive(Debug, Clone)]
pub struct Settings<E: Dtype, D: Storage<E>> {
    values: Tensor<Dyn1, E, D>,
    /// `values` as f64, read from the tensor on first use.
    decoded: OnceLock<Vec<f64>>,
}

impl<E: Real, D: Device<E>> Settings<E, D> {
    pub fn new(dev: &D, values: &[f64]) -> Self {
        let values = values
            .iter()
            .map(|&v| E::from_f64(v).unwrap())
            .collect::<Vec<_>>();
        let n = values.len();
        Self::from_tensor(dev.tensor_from_vec(values, (n,)))
    }

    fn from_tensor(values: Tensor<Dyn1, E, D>) -> Self {
        Self {
            values,
            decoded: OnceLock::new(),
        }
    }

    /// The tensor the values are saved and moved in.
    pub fn values(&self) -> &Tensor<Dyn1, E, D> {
        &self.values
    }

    /// The `i`-th value. In f32, non-integers such as ε = 1e-12 are not exact, so they are read
    /// back as the shortest decimal that f32 holds for them (7 significant digits).
    pub fn get(&self, i: usize) -> f64 {
        self.decoded.get_or_init(|| decode(&self.values.as_vec()))[i]
    }

    /// The `i`-th value as a count or size.
    pub fn count(&self, i: usize) -> usize {
        self.get(i).round() as usize
    }
}

/// The stored values as f64, each non-integer of an f32 tensor as its shortest decimal.
fn decode<E: Real>(stored: &[E]) -> Vec<f64> {
    let f32_like = E::epsilon().to_f64().unwrap() > 1e-10;
    stored
        .iter()
        .map(|v| {
            let v = v.to_f64().unwrap();
            if f32_like && v.fract() != 0.0 {
                // `f32`'s Display prints the shortest decimal that reads back as the same f32.
                (v as f32).to_string().parse().unwrap_or(v)
            } else {
                v
            }
        })
        .collect()
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
                |s| {
                    // The visitor may write the tensor (loading weights): decode again on the next read.
                    s.decoded.take();
                    &mut s.values
                },
                runtime_options(false, |_| Ok(())),
            ),
            |values| Settings {
                values,
                decoded: OnceLock::new(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_given_in_f32_and_f64() {
        let dev = Cpu::default();
        let s32 = Settings::<f32, Cpu>::new(&dev, &[2.0, 1e-12, 1e-5]);
        assert_eq!((s32.count(0), s32.get(1), s32.get(2)), (2, 1e-12, 1e-5));
        let s64 = Settings::<f64, Cpu>::new(&dev, &[2.0, 1e-12]);
        assert_eq!((s64.count(0), s64.get(1)), (2, 1e-12));
    }

    #[test]
    fn a_mutable_visit_makes_the_next_read_decode_again() {
        let dev = Cpu::default();
        let mut s = Settings::<f32, Cpu>::new(&dev, &[3.0]);
        assert_eq!(s.count(0), 3);
        // What loading weights does: write the tensor through a mutable visit.
        let mut saved = Settings::<f32, Cpu>::new(&dev, &[5.0]);
        let path = std::env::temp_dir().join(format!("ferrolab-settings-{}.safetensors", std::process::id()));
        saved.save_safetensors(&path).unwrap();
        s.load_safetensors(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(s.count(0), 5);
        saved.decoded.take();
        assert_eq!(saved.count(0), 5);
    }
}
