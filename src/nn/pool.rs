//! 2-D pooling, Keras `MaxPooling2D(pool_size)` and `AveragePooling2D`; book formula 3.4.2:
//!
//! `y[c, i, j] = max_{m, n < k} x[c, i·s + m, j·s + n]` (max) or the mean over the same window (average).
//!
//! Shapes: `(batch, C, H, W) -> (batch, C, H', W')`, `H' = (H − k) / s + 1` ("valid" pooling;
//! rows and columns that do not fill a window are dropped, as in Keras). The stride defaults
//! to the pool size; both are type parameters (`MaxPool2D<2>`). Windows are gathered into a trailing axis and reduced with dfdx's `max` /
//! `mean`, whose backward sends the gradient to the window's maximum (split evenly on ties).
//!
//! On dfdx's `Cpu` the layers call [`kernels::pool`](super::kernels) instead: one pass per
//! plane that records the argmax, and a backward that adds the gradient there (first maximum
//! on ties, as PyTorch). The gathered version stays as the readable, any-device path.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let x = dev.tensor_from_vec(vec![1.0f32, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 7.0], (1, 1, 2, 4));
//! let (max, mean): (MaxPool2D<2>, AvgPool2D<2>) = (MaxPool2D, AvgPool2D);
//! // Two 2×2 windows: [1 5; 3 4] and [2 0; 8 7].
//! assert_eq!(max.forward(x.clone()).as_vec(), [5.0, 8.0]);
//! assert_eq!(mean.forward(x).as_vec(), [3.25, 4.25]);
//! ```

use super::{expect_rank, Dyn1, Dyn4, Real};
use crate::{Error, Result};

/// `(batch, channels, height, width, window)`.
type Dyn5 = (usize, usize, usize, usize, usize);
use dfdx::prelude::*;

/// Window size and stride, shared by both pooling layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub pool_size: usize,
    pub stride: usize,
}

impl Window {
    fn output_shape(&self, layer: &str, input: &[usize]) -> Result<Vec<usize>> {
        if self.pool_size == 0 || self.stride == 0 {
            return Err(Error::config(layer, "pool size and stride must be at least 1"));
        }
        let k = self.pool_size;
        let [b, c, h, w] = expect_rank::<4>(layer, "(batch, channels, height, width)", input)?;
        if h < k || w < k {
            let expected = format!("(batch, channels, height, width) with height and width ≥ {k}");
            return Err(Error::shape(layer, expected, input));
        }
        Ok(vec![b, c, (h - k) / self.stride + 1, (w - k) / self.stride + 1])
    }

    /// Gathers `x` into `(B, C, H', W', k·k)`: one row per output position, its window's values.
    fn windows<E: Real, D: Device<E>, T: Tape<E, D>>(
        &self,
        layer: &str,
        x: Tensor<Dyn4, E, D, T>,
    ) -> Result<Tensor<Dyn5, E, D, T>> {
        let input = x.shape().concrete();
        let out = self.output_shape(layer, &input)?;
        let ([b, c, h, w], [_, _, oh, ow]) = (input, <[usize; 4]>::try_from(out).unwrap());
        let (k, s) = (self.pool_size, self.stride);
        let mut idx = Vec::with_capacity(b * c * oh * ow * k * k);
        for plane in 0..b * c {
            for i in 0..oh {
                for j in 0..ow {
                    for m in 0..k {
                        for n in 0..k {
                            idx.push((plane * h + i * s + m) * w + j * s + n);
                        }
                    }
                }
            }
        }
        let dev = x.device().clone();
        let idx = dev.tensor_from_vec(idx, (b * c * oh * ow * k * k,));
        let flat = x.reshape_like(&(b * c * h * w,));
        Ok(flat
            .gather::<Dyn1, Dyn1>(idx)
            .reshape_like(&(b, c, oh, ow, k * k)))
    }
}

macro_rules! pooling_layer {
    ($(#[$doc:meta])* $name:ident, $reduce:ident, $average:literal) => {
        $(#[$doc])*
        ///
        /// The window is `K`×`K`; the stride is `STRIDE`, or `K` when `STRIDE` is 0 (the default,
        /// as in Keras): `MaxPool2D::<2>` halves the height and width. Sizes are part of the type,
        /// so they travel with the model wherever dfdx moves it.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name<const K: usize, const STRIDE: usize = 0>;

        impl<const K: usize, const STRIDE: usize> $name<K, STRIDE> {
            pub const WINDOW: Window = Window { pool_size: K, stride: if STRIDE == 0 { K } else { STRIDE } };
        }

        impl<const K: usize, const STRIDE: usize> ZeroSizedModule for $name<K, STRIDE> {}

        impl<const K: usize, const STRIDE: usize> super::OutputShape for $name<K, STRIDE> {
            fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
                Self::WINDOW.output_shape(stringify!($name), input)
            }
        }

        impl<E: Real, D: Device<E>, T: Tape<E, D>, const K: usize, const STRIDE: usize>
            Module<Tensor<Dyn4, E, D, T>> for $name<K, STRIDE>
        {
            type Output = Tensor<Dyn4, E, D, T>;
            type Error = Error;

            fn try_forward(&self, x: Tensor<Dyn4, E, D, T>) -> Result<Self::Output> {
                if super::kernels::cpu_path::<E, D>() {
                    let out = Self::WINDOW.output_shape(stringify!($name), &x.shape().concrete())?;
                    let out = <[usize; 4]>::try_from(out).unwrap();
                    let window = (Self::WINDOW.pool_size, Self::WINDOW.stride);
                    return Ok(super::kernels::pool::pool2d(x, window, out, $average));
                }
                let windows = Self::WINDOW.windows(stringify!($name), x)?;
                Ok(windows.$reduce::<Dyn4, Axis<4>>()) // (B, C, H', W', k·k) -> (B, C, H', W')
            }
        }
    };
}

pooling_layer!(
    /// Max pooling: each output is the largest value in its window.
    MaxPool2D,
    max,
    false
);
pooling_layer!(
    /// Average pooling: each output is the mean of its window.
    AvgPool2D,
    mean,
    true
);
