//! ferrolab: the layers, models, data, training and plots of the book
//! "AI大模型应用入门实战与进阶", built on [dfdx] so learners can run every chapter in Rust.
//!
//! The library knows nothing of front ends: no evcxr, no ZeroMQ, no terminal editing.
//! Every learner's notebook cell compiles against it, so it stays lean.
//!
//! Start with [`prelude`]: `use ferrolab::prelude::*;` brings the layers, models and dfdx in.

pub mod data;
pub mod display;
pub mod error;
pub mod models;
pub mod nn;
pub mod plot;
pub mod prelude;
pub mod summary;
pub mod train;

pub use dfdx;
pub use error::{Error, Result};
