//! Flatten, Keras `Flatten()`: `(batch, C, H, W) -> (batch, C·H·W)`, channels-first order.
//!
//! Keras flattens channels-last `(H, W, C)`; the parameter counts of a following Dense are
//! the same, only the order of its inputs differs.

use super::{expect_rank, Dyn2, Dyn4, Real};
use crate::{Error, Result};
use dfdx::prelude::*;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flatten;

impl ZeroSizedModule for Flatten {}

impl super::OutputShape for Flatten {
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let [b, c, h, w] = expect_rank::<4>("Flatten", "(batch, channels, height, width)", input)?;
        Ok(vec![b, c * h * w])
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn4, E, D, T>> for Flatten {
    type Output = Tensor<Dyn2, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn4, E, D, T>) -> Result<Self::Output> {
        let (b, c, h, w) = *x.shape();
        Ok(x.reshape_like(&(b, c * h * w)))
    }
}
