//! ferrolab: the layers, models, data, training and plots of the book
//! "AI大模型应用入门实战与进阶", built on [dfdx] so learners can run every chapter in Rust.
//!
//! The library knows nothing of front ends: no evcxr, no ZeroMQ, no terminal editing.
//! Every learner's notebook cell compiles against it, so it stays lean.
//!
//! Start with [`prelude`]: `use ferrolab::prelude::*;` brings the layers, models and dfdx in.
//!
//! ```
//! use ferrolab::prelude::*;
//!
//! let dev = Cpu::seed_from_u64(0);
//! let model = Cnn::<f32, Cpu>::new(&dev); // the book's CNN
//! assert_eq!(model.summary().total_params(), 34_826);
//! let images: Tensor<Dyn4, f32, Cpu> = dev.zeros_like(&(8, 1, 28, 28));
//! let logits = model.forward(images);
//! assert_eq!(logits.shape().concrete(), [8, 10]);
//! ```

pub mod data;
pub mod display;
pub mod error;
pub mod exercises;
pub mod models;
pub mod nn;
pub mod plot;
pub mod prelude;
pub mod stack_trace;
pub mod summary;
pub mod train;

pub use dfdx;
pub use error::{Error, Result};
// JSON for cells (a chapter reads a model server's replies); already a dependency.
pub use serde_json;
