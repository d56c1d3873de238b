//! Flatten, Keras `Flatten()`: `(batch, C, H, W) -> (batch, C·H·W)`, channels-first order.
//!
//! Keras flattens channels-last `(H, W, C)`; the parameter counts of a following Dense are
//! the same, only the order of its inputs differs.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let x = dev.tensor_from_vec((0..8).map(|v| v as f32).collect(), (1, 2, 2, 2));
//! let y = Flatten.forward(x);
//! assert_eq!(*y.shape(), (1, 8));
//! assert_eq!(y.as_vec(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]); // channel 0, then channel 1
//! ```

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
