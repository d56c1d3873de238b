//! The library's error type: every failure says what went wrong and where.
//!
//! Device errors (out of memory) stay dfdx's own and panic as dfdx does; what this
//! type carries are the mistakes a learner can make: wrong shapes, bad files, bad configs.

use std::fmt;

/// A shape written the way the book writes it: `(None, 32, 26, 26)` for a batch of any size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeText(pub Vec<usize>);

impl fmt::Display for ShapeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.0.iter().map(|d| d.to_string()).collect();
        write!(f, "({})", dims.join(", "))
    }
}

/// `Debug` prints the same sentence as `Display`, so `forward(..)` (which unwraps) panics with
/// a message a learner can read rather than a struct dump.
#[derive(thiserror::Error)]
pub enum Error {
    /// A layer got an input it cannot take.
    #[error("{layer}: expected input {expected}, got shape {got}")]
    Shape {
        layer: String,
        expected: String,
        got: ShapeText,
    },
    /// A layer or model was configured with values that cannot work.
    #[error("{what}: {why}")]
    Config { what: String, why: String },
    /// A data file or dataset could not be read or used; the message says where.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn shape(layer: impl Into<String>, expected: impl Into<String>, got: &[usize]) -> Self {
        Error::Shape {
            layer: layer.into(),
            expected: expected.into(),
            got: ShapeText(got.to_vec()),
        }
    }

    pub fn config(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Config {
            what: what.into(),
            why: why.into(),
        }
    }
}
