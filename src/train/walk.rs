//! Walks a model's tensors without changing them: their names and shapes as safetensors
//! files store them, and the device they live on.
//!
//! Names are dfdx's: field names joined with dots (`conv_1.weight`, `encoder.0.ff.w1.bias`),
//! the same keys dfdx's safetensors writer uses. Scalars (such as a CNN's `side`) are
//! listed too, as dfdx stores them: rank-0 f64 tensors.

use std::convert::Infallible;

use dfdx::nn::{
    RecursiveWalker, ScalarOptions, TensorCollection, TensorOptions, TensorVisitor, ViewTensorName,
    ViewTensorRef,
};
use dfdx::prelude::*;
use dfdx::tensor::safetensors::SafeDtype;

/// One stored value of a model: its key, shape and safetensors dtype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: ::safetensors::Dtype,
}

/// Every tensor and scalar of `model`, in dfdx's visiting order.
pub fn tensor_specs<E, D, M>(model: &M) -> Vec<TensorSpec>
where
    E: Dtype + SafeDtype,
    D: Device<E>,
    M: TensorCollection<E, D>,
{
    let mut lister = Lister(Vec::new());
    let walked = M::iter_tensors(&mut RecursiveWalker {
        m: (model, String::new()),
        f: &mut lister,
    });
    match walked {
        Ok(_) => lister.0,
        Err(never) => match never {},
    }
}

/// The device of `model`'s first tensor; `None` for a model without tensors.
pub fn device_of<E: Dtype, D: Device<E>, M: TensorCollection<E, D>>(model: &M) -> Option<D> {
    let mut first = FirstDevice(None);
    let walked = M::iter_tensors(&mut RecursiveWalker {
        m: model,
        f: &mut first,
    });
    match walked {
        Ok(_) => first.0,
        Err(never) => match never {},
    }
}

struct Lister(Vec<TensorSpec>);

impl<E: Dtype + SafeDtype, D: Device<E>> TensorVisitor<E, D> for Lister {
    type Viewer = (ViewTensorRef, ViewTensorName);
    type Err = Infallible;
    type E2 = E;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, E, D>,
        (t, name): (&Tensor<S, E, D>, String),
    ) -> Result<Option<Tensor<S, E, D>>, Infallible> {
        self.0.push(TensorSpec {
            name,
            shape: t.shape().concrete().into(),
            dtype: E::safe_dtype(),
        });
        Ok(None)
    }

    fn visit_scalar<N: num_traits::NumCast>(
        &mut self,
        _: ScalarOptions<N>,
        (_, name): (&N, String),
    ) -> Result<Option<N>, Infallible> {
        self.0.push(TensorSpec {
            name,
            shape: Vec::new(),
            dtype: ::safetensors::Dtype::F64,
        });
        Ok(None)
    }
}

struct FirstDevice<D>(Option<D>);

impl<E: Dtype, D: Device<E>> TensorVisitor<E, D> for FirstDevice<D> {
    type Viewer = ViewTensorRef;
    type Err = Infallible;
    type E2 = E;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, E, D>,
        t: &Tensor<S, E, D>,
    ) -> Result<Option<Tensor<S, E, D>>, Infallible> {
        if self.0.is_none() {
            self.0 = Some(t.device().clone());
        }
        Ok(None)
    }

    fn visit_scalar<N: num_traits::NumCast>(
        &mut self,
        _: ScalarOptions<N>,
        _: &N,
    ) -> Result<Option<N>, Infallible> {
        Ok(None)
    }
}
