//! Dense (fully connected) layer, Keras `Dense(units)`: `y = x Wᵀ + b`.
//!
//! Shapes: `(batch, inputs) -> (batch, units)`, or `(batch, steps, inputs) -> (batch, steps, units)`
//! applied at every step. `W` is `(units, inputs)`, `b` is `(units,)`.
//! No activation is built in: apply `.relu()`, `.tanh()`… to the output, as the book's code does.
//!
//! The generic path below (matmul + broadcast bias) runs on every device; on `Cpu` the layer
//! uses `kernels::rows::dense`, the same formula as one GEMM with its own backward.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let mut layer = Dense::<f32, Cpu>::new(&dev, 2, 1);
//! layer.weight = dev.tensor_from_vec(vec![2.0, -1.0], (1, 2)); // W = [2  −1]
//! layer.bias = dev.tensor_from_vec(vec![0.5], (1,));
//! let x = dev.tensor_from_vec(vec![3.0, 4.0], (1, 2));
//! assert_eq!(layer.forward(x).as_vec(), [2.5]); // 2·3 − 1·4 + 0.5
//! ```

use super::{expect_rank, glorot, trainable, trainable_zeros, Dyn1, Dyn2, Dyn3, Real};
use crate::{Error, Result};
use dfdx::prelude::*;

#[derive(Debug, Clone)]
pub struct Dense<E: Dtype, D: Storage<E>> {
    /// `W`, shape `(units, inputs)`.
    pub weight: Tensor<Dyn2, E, D>,
    /// `b`, shape `(units,)`.
    pub bias: Tensor<Dyn1, E, D>,
}

impl<E: Real, D: Device<E>> Dense<E, D> {
    /// A layer from `inputs` features to `units`, Glorot-uniform `W` and zero `b` (Keras's defaults).
    pub fn new(dev: &D, inputs: usize, units: usize) -> Self {
        Self {
            weight: glorot(dev, (units, inputs), inputs, units),
            bias: dev.zeros_like(&(units,)),
        }
    }

    pub fn inputs(&self) -> usize {
        self.weight.shape().1
    }

    pub fn units(&self) -> usize {
        self.weight.shape().0
    }

    fn check(&self, got: &[usize]) -> Result<()> {
        match got.last() {
            Some(&n) if n == self.inputs() && (got.len() == 2 || got.len() == 3) => Ok(()),
            _ => Err(Error::shape(
                "Dense",
                format!("(batch, {0}) or (batch, steps, {0})", self.inputs()),
                got,
            )),
        }
    }
}

impl<E: Real> Dense<E, Cpu>
where
    Cpu: Device<E>,
{
    /// `x · Wᵀ + b` for inference on plain values `(batch, inputs)`, with no tape.
    pub(crate) fn inference(&self, x: &[E], batch: usize) -> Vec<E> {
        use super::kernels::{
            matmul, matrix_in_place, or_copy, vector_in_place, Mat, MatMut, Threads, Write,
        };
        let (units, inputs) = *self.weight.shape();
        let weight = or_copy(matrix_in_place(&self.weight), &self.weight); // read in place
        let mut y = or_copy(vector_in_place(&self.bias), &self.bias).repeat(batch); // every row starts at b
        let (x, w_t) = (Mat::new(x, batch, inputs), Mat::new(&weight, units, inputs).t());
        matmul(
            MatMut::new(&mut y, batch, units),
            Write::Add,
            x,
            w_t,
            Threads::Caller,
        );
        y
    }
}

impl<E: Real, D: Device<E>> super::OutputShape for Dense<E, D> {
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.check(input)?;
        let mut out = input.to_vec();
        *out.last_mut().unwrap() = self.units();
        Ok(out)
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn2, E, D, T>> for Dense<E, D> {
    type Output = Tensor<Dyn2, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn2, E, D, T>) -> Result<Self::Output> {
        self.check(&x.shape().concrete())?;
        if super::kernels::cpu_path::<E, D>() {
            // One GEMM with b folded in, and a backward without broadcasts (see `kernels::rows`).
            let out = (x.shape().0, self.units());
            return Ok(super::kernels::rows::dense(x, &self.weight, &self.bias, out));
        }
        let wt = self.weight.retaped::<T>().permute::<Dyn2, Axes2<1, 0>>();
        let y = x.matmul(wt); // (B, I) x (I, U) -> (B, U)
        let shape = *y.shape();
        Ok(y + self.bias.retaped::<T>().broadcast_like::<Dyn2, Axis<0>>(&shape))
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for Dense<E, D> {
    type Output = Tensor<Dyn3, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        let [b, s, _] = expect_rank::<3>("Dense", "(batch, steps, inputs)", &x.shape().concrete())?;
        self.check(&[b, s, x.shape().2])?;
        // Fold the steps into the batch: one (B·S, I) x (I, U) matmul instead of B small ones.
        let y = self.try_forward(x.reshape_like(&(b * s, self.inputs())))?;
        Ok(y.reshape_like(&(b, s, self.units())))
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for Dense<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Dense<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor("weight", |s| &s.weight, |s| &mut s.weight, trainable()),
                Self::tensor("bias", |s| &s.bias, |s| &mut s.bias, trainable_zeros()),
            ),
            |(weight, bias)| Dense { weight, bias },
        )
    }
}
