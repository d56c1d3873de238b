//! Reading and writing `model.safetensors` under Hugging Face's tensor names, with f32, f16,
//! bf16 and f64 converted to the model's element type on load.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use ::safetensors::tensor::{Dtype as StDtype, SafeTensors, TensorView};
use dfdx::prelude::*;

use super::error::{PretrainedError, PretrainedResult};
use crate::nn::Real;

/// The tensors of one safetensors file, taken one by one by name; what is never taken is
/// reported by [`Store::unused`].
pub(crate) struct Store {
    file: PathBuf,
    bytes: Vec<u8>,
    /// name -> (dtype, shape, byte range in `bytes`).
    index: HashMap<String, (StDtype, Vec<usize>, std::ops::Range<usize>)>,
    taken: BTreeSet<String>,
    /// `bert.` when every BERT tensor carries it (a `BertFor…` checkpoint).
    prefix: String,
}

impl Store {
    pub(crate) fn open(file: &Path) -> PretrainedResult<Store> {
        let bytes = std::fs::read(file).map_err(|e| PretrainedError::io(file, e))?;
        let index = {
            let st = SafeTensors::deserialize(&bytes)
                .map_err(|e| PretrainedError::file(file, format!("not a safetensors file: {e:?}")))?;
            let base = bytes.as_ptr() as usize;
            st.tensors()
                .into_iter()
                .map(|(name, view)| {
                    let at = view.data().as_ptr() as usize - base;
                    let range = at..at + view.data().len();
                    (name, (view.dtype(), view.shape().to_vec(), range))
                })
                .collect::<HashMap<_, _>>()
        };
        let prefix = if index.keys().any(|k| k.starts_with("bert.embeddings.")) {
            "bert.".to_string()
        } else {
            String::new()
        };
        Ok(Store {
            file: file.to_path_buf(),
            bytes,
            index,
            taken: BTreeSet::new(),
            prefix,
        })
    }

    /// Whether the BERT tensors carry a `bert.` prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The stored shape of tensor `name` (as written in the file).
    pub(crate) fn shape(&self, name: &str) -> Option<&[usize]> {
        self.index.get(name).map(|(_, shape, _)| shape.as_slice())
    }

    /// Tensor `name` (without the prefix for BERT's own), checked against `shape`.
    pub(crate) fn bert<S: Shape, E: Real, D: Device<E>>(
        &mut self,
        dev: &D,
        name: &str,
        shape: S,
    ) -> PretrainedResult<Tensor<S, E, D>> {
        let full = format!("{}{name}", self.prefix);
        self.take(dev, &full, shape)
    }

    /// Tensor `name` as it is written in the file, checked against `shape`.
    pub(crate) fn take<S: Shape, E: Real, D: Device<E>>(
        &mut self,
        dev: &D,
        name: &str,
        shape: S,
    ) -> PretrainedResult<Tensor<S, E, D>> {
        let expected = shape.concrete().into_iter().collect::<Vec<usize>>();
        let Some((dtype, found, range)) = self.index.get(name) else {
            return Err(PretrainedError::MissingTensor {
                file: self.file.clone(),
                tensor: name.into(),
                expected,
            });
        };
        if *found != expected {
            return Err(PretrainedError::BadTensor {
                file: self.file.clone(),
                tensor: name.into(),
                expected: format!("shape {expected:?}"),
                found: format!("shape {found:?}"),
            });
        }
        let data = &self.bytes[range.clone()];
        let values: Vec<E> = match dtype {
            StDtype::F32 => convert(data, 4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64),
            StDtype::F64 => convert(data, 8, |b| f64::from_le_bytes(b.try_into().unwrap())),
            StDtype::F16 => convert(data, 2, |b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])) as f64),
            StDtype::BF16 => convert(data, 2, |b| {
                f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16) as f64
            }),
            other => {
                return Err(PretrainedError::BadTensor {
                    file: self.file.clone(),
                    tensor: name.into(),
                    expected: "f32, f16, bf16 or f64 values".into(),
                    found: format!("{other:?}"),
                })
            }
        };
        self.taken.insert(name.to_string());
        Ok(dev.tensor_from_vec(values, shape))
    }

    /// Marks a tensor as read without loading it (buffers such as `position_ids`).
    pub(crate) fn skip(&mut self, name: &str) {
        if self.index.contains_key(name) {
            self.taken.insert(name.to_string());
        }
    }

    /// Names never taken, sorted.
    pub(crate) fn unused(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .index
            .keys()
            .filter(|k| !self.taken.contains(*k))
            .cloned()
            .collect();
        names.sort();
        names
    }
}

/// Little-endian values of `width` bytes each, read as f64 (exact for every source type) and
/// converted to `E`.
fn convert<E: Real>(data: &[u8], width: usize, read: impl Fn(&[u8]) -> f64) -> Vec<E> {
    data.chunks_exact(width)
        .map(|b| E::from_f64(read(b)).unwrap())
        .collect()
}

/// IEEE half precision to single, exactly (subnormals, infinities and NaN included).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if frac == 0 => sign,
        0 => {
            // Subnormal: value = frac · 2^-24.
            let v = frac as f32 * f32::from_bits(0x3380_0000); // 2^-24
            return if sign != 0 { -v } else { v };
        }
        0x1f => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

/// A tensor's values as f32 little-endian bytes, for writing.
pub(crate) fn f32_bytes<S: Shape, E: Real, D: Device<E>>(t: &Tensor<S, E, D>) -> (Vec<usize>, Vec<u8>) {
    let shape = t.shape().concrete().into_iter().collect();
    let bytes = t
        .as_vec()
        .iter()
        .flat_map(|v| v.to_f32().unwrap().to_le_bytes())
        .collect();
    (shape, bytes)
}

/// Writes named f32 tensors as a safetensors file.
pub(crate) fn write(file: &Path, tensors: &[(String, Vec<usize>, Vec<u8>)]) -> PretrainedResult<()> {
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            let view = TensorView::new(StDtype::F32, shape.clone(), bytes)
                .map_err(|e| PretrainedError::file(file, format!("tensor {name}: {e:?}")))?;
            Ok((name.clone(), view))
        })
        .collect::<PretrainedResult<Vec<_>>>()?;
    let bytes = ::safetensors::serialize(views, &None)
        .map_err(|e| PretrainedError::file(file, format!("cannot serialise: {e:?}")))?;
    std::fs::write(file, bytes).map_err(|e| PretrainedError::io(file, e))
}
