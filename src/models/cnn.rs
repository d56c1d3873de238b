//! The book's convolutional network (section 4.1) for 28×28 grey images, 10 classes:
//!
//! ```text
//! Conv2D(32, 3×3, relu) → MaxPooling2D(2) → Conv2D(64, 3×3, relu) → MaxPooling2D(2) → Flatten → Dense(10)
//! ```
//!
//! Input `(batch, 1, 28, 28)`, output `(batch, 10)` logits; 34,826 parameters, as in Keras.

use super::params;
use crate::nn::{Conv2D, Conv2DConfig, Dense, Dyn2, Dyn4, Flatten, MaxPool2D, Real, Settings};
use crate::summary::{Summary, SummaryBuilder};
use crate::{Error, Result};
use dfdx::prelude::*;

#[derive(Debug, Clone)]
pub struct Cnn<E: Dtype, D: Storage<E>> {
    pub conv_1: Conv2D<E, D>,
    pub pool_1: MaxPool2D<2>,
    pub conv_2: Conv2D<E, D>,
    pub pool_2: MaxPool2D<2>,
    pub flatten: Flatten,
    pub dense: Dense<E, D>,
    /// `[side]`: height and width of the input images.
    pub settings: Settings<E, D>,
}

impl<E: Real, D: Device<E>> Cnn<E, D> {
    /// The book's sizes: 1×28×28 in, 10 classes out.
    pub fn new(dev: &D) -> Self {
        Self::with_sizes(dev, 1, 28, 10).expect("the book's sizes fit the layers")
    }

    /// Same layers for `channels`×`side`×`side` images and `classes` outputs; images smaller
    /// than 10×10 do not survive two conv+pool stages and are an error.
    pub fn with_sizes(dev: &D, channels: usize, side: usize, classes: usize) -> Result<Self> {
        if side < 10 {
            let why = format!("images must be at least 10×10 to survive two conv+pool stages, got {side}");
            return Err(Error::config("Cnn", why));
        }
        let after_pools = ((side - 2) / 2 - 2) / 2; // 28 -> 26 -> 13 -> 11 -> 5
        Ok(Self {
            conv_1: Conv2D::new(dev, Conv2DConfig::new(channels, 32, 3))?,
            pool_1: MaxPool2D,
            conv_2: Conv2D::new(dev, Conv2DConfig::new(32, 64, 3))?,
            pool_2: MaxPool2D,
            flatten: Flatten,
            dense: Dense::new(dev, 64 * after_pools * after_pools, classes),
            settings: Settings::new(dev, &[side as f64]),
        })
    }

    /// Height and width of the input images.
    pub fn side(&self) -> usize {
        self.settings.count(0)
    }

    /// One sample's shape, `(channels, side, side)`.
    pub fn input_shape(&self) -> Vec<usize> {
        vec![self.conv_1.config().in_channels, self.side(), self.side()]
    }

    pub fn summary(&self) -> Summary {
        let build = || -> Result<Summary> {
            Ok(SummaryBuilder::new("cnn", &self.input_shape())
                .layer("conv2d", "Conv2D", &self.conv_1, params(&self.conv_1))?
                .layer("max_pooling2d", "MaxPooling2D", &self.pool_1, 0)?
                .layer("conv2d_1", "Conv2D", &self.conv_2, params(&self.conv_2))?
                .layer("max_pooling2d_1", "MaxPooling2D", &self.pool_2, 0)?
                .layer("flatten", "Flatten", &self.flatten, 0)?
                .layer("dense", "Dense", &self.dense, params(&self.dense))?
                .build())
        };
        build().expect("the model's own layers fit together")
    }
}

impl<E: Real> Cnn<E, Cpu>
where
    Cpu: Device<E>,
{
    /// Logits `(batch, classes)` of `batch` images given as plain values `(batch, C, H, W)`:
    /// what `forward` computes, on the inference path. There is no tape, and each conv block
    /// (conv, ReLU, pool) runs image by image while its output is in cache, so it neither
    /// allocates nor writes the full-size activations a backward would need. `ferrolab serve`
    /// (through `RestoredClassifier`) runs the CNN this way; `predict` still takes `forward`.
    pub fn infer(&self, images: &[E], batch: usize) -> Result<Vec<E>> {
        let [c, h, w] = <[usize; 3]>::try_from(self.input_shape()).unwrap();
        if batch == 0 || images.len() != batch * c * h * w {
            let want = format!("{batch} images of ({c}, {h}, {w}), {} values", batch * c * h * w);
            return Err(Error::shape("Cnn", want, &[images.len()]));
        }
        let (x, [c, h, w]) = self.conv_1.relu_pool_inference(images, (c, h, w)); // (B, 32, 13, 13)
        let (x, _) = self.conv_2.relu_pool_inference(&x, (c, h, w)); // (B, 64, 5, 5)
        Ok(self.dense.inference(&x, batch)) // flattened row-major values are (B, 1600) as they are
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn4, E, D, T>> for Cnn<E, D> {
    type Output = Tensor<Dyn2, E, D, T>;
    type Error = Error;

    fn try_forward(&self, x: Tensor<Dyn4, E, D, T>) -> Result<Self::Output> {
        let dims = x.shape().concrete();
        if dims[1..] != self.input_shape()[..] {
            let [c, h, w] = <[usize; 3]>::try_from(self.input_shape()).unwrap();
            return Err(Error::shape("Cnn", format!("(batch, {c}, {h}, {w})"), &dims));
        }
        let x = self.conv_1.try_forward(x)?.relu(); // (B, 1, 28, 28) -> (B, 32, 26, 26)
        let x = self.pool_1.try_forward(x)?; // -> (B, 32, 13, 13)
        let x = self.conv_2.try_forward(x)?.relu(); // -> (B, 64, 11, 11)
        let x = self.pool_2.try_forward(x)?; // -> (B, 64, 5, 5)
        let x = self.flatten.try_forward(x)?; // -> (B, 1600)
        self.dense.try_forward(x) // -> (B, 10)
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for Cnn<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Cnn<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("conv_1", |s| &s.conv_1, |s| &mut s.conv_1),
                Self::module("conv_2", |s| &s.conv_2, |s| &mut s.conv_2),
                Self::module("dense", |s| &s.dense, |s| &mut s.dense),
                Self::module("settings", |s| &s.settings, |s| &mut s.settings),
            ),
            |(conv_1, conv_2, dense, settings)| Cnn {
                conv_1,
                pool_1: MaxPool2D,
                conv_2,
                pool_2: MaxPool2D,
                flatten: Flatten,
                dense,
                settings,
            },
        )
    }
}
