//! 2-D convolution, Keras `Conv2D(filters, kernel_size, strides, padding)`, book formula 3.4.1:
//!
//! `y[o, i, j] = Σ_c Σ_m Σ_n x[c, i·s + m − p, j·s + n − p] · w[o, c, m, n] + b[o]`
//!
//! (the book writes the single-channel case `y[i,j] = Σ_m Σ_n x[i+m, j+n]·w[m,n] + b`).
//! Shapes are channels-first like PyTorch: `(batch, C, H, W) -> (batch, O, H', W')` with
//! `H' = (H + 2p − k) / s + 1`. Zero padding `p` on every side; Keras's `padding="same"` with
//! stride 1 is `p = (k − 1) / 2`.
//!
//! Computed as im2col: every k×k window of every channel is gathered into one row
//! (positions outside the image read a single appended zero), then one matmul with the
//! kernels as a `(C·k·k, O)` matrix. dfdx's gather and matmul carry the gradients.
//!
//! That generic path is the readable reference and runs on every device. On dfdx's `Cpu`
//! the layer calls [`kernels::conv`](super::kernels) instead: the same im2col, but into a
//! per-image buffer and one matrix product per image (the kernels' `matmul`), with a
//! hand-written backward (two products and a col2im). Both paths are checked against the plain-loop formula and finite differences.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let mut conv = Conv2D::<f32, Cpu>::new(&dev, Conv2DConfig::new(1, 1, 2))?;
//! conv.weight = dev.ones_like(&(1, 1, 2, 2)); // a 2×2 kernel of ones sums each window
//! let x = dev.tensor_from_vec((1..=9).map(|v| v as f32).collect(), (1, 1, 3, 3));
//! // [1 2 3; 4 5 6; 7 8 9] -> [1+2+4+5  2+3+5+6; 4+5+7+8  5+6+8+9]
//! assert_eq!(conv.forward(x).as_vec(), [12.0, 16.0, 24.0, 28.0]);
//! # Ok::<(), ferrolab::Error>(())
//! ```

use super::{expect_rank, glorot, trainable, trainable_zeros, Dyn1, Dyn2, Dyn3, Dyn4, Real, Settings};
use crate::{Error, Result};
use dfdx::prelude::*;

/// How to build a [`Conv2D`]: channels in and out, kernel size, stride and padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2DConfig {
    pub in_channels: usize,
    pub filters: usize,
    pub kernel_size: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Default for Conv2DConfig {
    fn default() -> Self {
        Self {
            in_channels: 1,
            filters: 32,
            kernel_size: 3,
            stride: 1,
            padding: 0,
        }
    }
}

impl Conv2DConfig {
    /// `in_channels` to `filters` maps with a square `kernel_size` kernel, stride 1, no padding.
    pub fn new(in_channels: usize, filters: usize, kernel_size: usize) -> Self {
        Self {
            in_channels,
            filters,
            kernel_size,
            ..Default::default()
        }
    }

    pub fn stride(self, stride: usize) -> Self {
        Self { stride, ..self }
    }

    pub fn padding(self, padding: usize) -> Self {
        Self { padding, ..self }
    }
}

#[derive(Debug, Clone)]
pub struct Conv2D<E: Dtype, D: Storage<E>> {
    /// Kernels `w`, shape `(filters, in_channels, k, k)`.
    pub weight: Tensor<Dyn4, E, D>,
    /// `b`, shape `(filters,)`.
    pub bias: Tensor<Dyn1, E, D>,
    /// `[stride, padding]`.
    pub settings: Settings<E, D>,
}

impl<E: Real, D: Device<E>> Conv2D<E, D> {
    /// Glorot-uniform kernels and zero bias, as Keras initialises them; a kernel size or
    /// stride of 0 is an error.
    pub fn new(dev: &D, cfg: Conv2DConfig) -> Result<Self> {
        let Conv2DConfig {
            in_channels: c,
            filters: o,
            kernel_size: k,
            stride,
            padding,
        } = cfg;
        if k == 0 || stride == 0 {
            return Err(Error::config(
                "Conv2D",
                "kernel_size and stride must be at least 1",
            ));
        }
        Ok(Self {
            weight: glorot(dev, (o, c, k, k), c * k * k, o * k * k),
            bias: dev.zeros_like(&(o,)),
            settings: Settings::new(dev, &[stride as f64, padding as f64]),
        })
    }

    pub fn config(&self) -> Conv2DConfig {
        let (o, c, k, _) = *self.weight.shape();
        Conv2DConfig {
            in_channels: c,
            filters: o,
            kernel_size: k,
            stride: self.settings.count(0),
            padding: self.settings.count(1),
        }
    }
}

impl<E: Real> Conv2D<E, Cpu>
where
    Cpu: Device<E>,
{
    /// The book's conv block, `conv → ReLU → MaxPooling2D(2)`, for inference on plain values
    /// `(batch, C, H, W)`: no tape, and no full-size activation kept (see
    /// [`kernels::conv`](super::kernels)). Gives the pooled values and one image's pooled
    /// shape `(O, H'/2, W'/2)`. The caller has checked that `x` holds whole `C×H×W` images.
    pub(crate) fn relu_pool_inference(&self, x: &[E], image: (usize, usize, usize)) -> (Vec<E>, [usize; 3]) {
        use super::kernels::{array4_in_place, or_copy, vector_in_place};
        let cfg = self.config();
        let weight = or_copy(array4_in_place(&self.weight), &self.weight); // read in place
        let bias = or_copy(vector_in_place(&self.bias), &self.bias);
        let window = (cfg.kernel_size, cfg.stride, cfg.padding);
        super::kernels::conv::relu_pool_inference(x, image, &weight, &bias, window)
    }
}

impl<E: Real, D: Device<E>> super::OutputShape for Conv2D<E, D> {
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let cfg = self.config();
        let expected = format!("(batch, {}, height, width)", cfg.in_channels);
        let [b, c, h, w] = expect_rank::<4>("Conv2D", &expected, input)?;
        let k = cfg.kernel_size;
        let (hp, wp) = (h + 2 * cfg.padding, w + 2 * cfg.padding);
        if c != cfg.in_channels || hp < k || wp < k {
            let expected = format!("{expected} with height and width + 2·padding ≥ {k}");
            return Err(Error::shape("Conv2D", expected, input));
        }
        let (oh, ow) = ((hp - k) / cfg.stride + 1, (wp - k) / cfg.stride + 1);
        Ok(vec![b, cfg.filters, oh, ow])
    }
}

/// For every output position (in `(b, i, j)` order) the flat input index of every
/// `(c, m, n)` in its window; `zero` where the window reaches into the padding.
fn im2col_indices(input: [usize; 4], cfg: &Conv2DConfig, out_hw: (usize, usize), zero: usize) -> Vec<usize> {
    let [b, c, h, w] = input;
    let (k, s, p) = (cfg.kernel_size, cfg.stride, cfg.padding);
    let (oh, ow) = out_hw;
    let mut idx = Vec::with_capacity(b * oh * ow * c * k * k);
    for bi in 0..b {
        for i in 0..oh {
            for j in 0..ow {
                for ci in 0..c {
                    for m in 0..k {
                        for n in 0..k {
                            // Row and column in the unpadded image; negative or past the end is padding.
                            let (r, q) = ((i * s + m).wrapping_sub(p), (j * s + n).wrapping_sub(p));
                            idx.push(if r < h && q < w {
                                ((bi * c + ci) * h + r) * w + q
                            } else {
                                zero
                            });
                        }
                    }
                }
            }
        }
    }
    idx
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn4, E, D, T>> for Conv2D<E, D> {
    type Output = Tensor<Dyn4, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn4, E, D, T>) -> Result<Self::Output> {
        use super::OutputShape;
        let input = x.shape().concrete();
        let [b, o, oh, ow] = <[usize; 4]>::try_from(self.output_shape(&input)?).unwrap();
        let cfg = self.config();
        if super::kernels::cpu_path::<E, D>() {
            // Same formula as below, as im2col + GEMM per image with its own backward.
            let (weight, bias, stride_padding) = (&self.weight, &self.bias, (cfg.stride, cfg.padding));
            return Ok(super::kernels::conv::conv2d(
                weight,
                bias,
                x,
                stride_padding,
                [b, o, oh, ow],
            ));
        }
        let (c, k) = (cfg.in_channels, cfg.kernel_size);
        let n = input.iter().product::<usize>();
        let dev = x.device().clone();

        let idx = im2col_indices(input, &cfg, (oh, ow), n);
        let idx = dev.tensor_from_vec(idx, (b * oh * ow * c * k * k,));
        let x_flat = x.reshape_like(&(n,));
        let padded = (x_flat, dev.zeros_like(&(1usize,))).concat_along(Axis::<0>); // (N+1,)
        let cols = padded
            .gather::<Dyn1, Dyn1>(idx)
            .reshape_like(&(b, oh * ow, c * k * k));

        let w = self.weight.retaped::<T>().reshape_like(&(o, c * k * k));
        let w = w.permute::<Dyn2, Axes2<1, 0>>();
        let y = cols.matmul(w); // (B, P, C·k·k) x (C·k·k, O) -> (B, P, O)
        let shape = *y.shape();
        let y = y + self
            .bias
            .retaped::<T>()
            .broadcast_like::<Dyn3, Axes2<0, 1>>(&shape);
        let y = y.permute::<Dyn3, Axes3<0, 2, 1>>(); // (B, P, O) -> (B, O, P)
        Ok(y.reshape_like(&(b, o, oh, ow)))
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for Conv2D<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Conv2D<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor("weight", |s| &s.weight, |s| &mut s.weight, trainable()),
                Self::tensor("bias", |s| &s.bias, |s| &mut s.bias, trainable_zeros()),
                Self::module("settings", |s| &s.settings, |s| &mut s.settings),
            ),
            |(weight, bias, settings)| Conv2D {
                weight,
                bias,
                settings,
            },
        )
    }
}
