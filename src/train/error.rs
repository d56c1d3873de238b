//! The training module's error type: every failure says what went wrong and where.
//!
//! Model and data errors keep their own messages; checkpoint errors name the file and,
//! where one is at fault, the tensor. A cancelled run is not an error: `fit` returns its
//! `History` with `interrupted = true`.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The model rejected its input (wrong shape, too long a sequence).
    #[error(transparent)]
    Model(#[from] crate::Error),
    /// A batch could not be made into the model's input or targets.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// A fit setting that cannot work (zero epochs to a batch size of 0, an unknown metric).
    #[error("{what}: {why}")]
    Config { what: String, why: String },
    /// A file could not be written or read.
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint file is unreadable or does not fit the model.
    #[error("{file}: {why}")]
    Checkpoint { file: String, why: String },
    /// The optimizer failed on the device (out of memory).
    #[error("optimizer update failed: {0}")]
    Optimizer(String),
    /// A user callback failed; the message is the callback's own.
    #[error("callback {name}: {why}")]
    Callback { name: String, why: String },
}

pub type TrainResult<T> = std::result::Result<T, TrainError>;

impl TrainError {
    pub fn config(what: impl Into<String>, why: impl Into<String>) -> Self {
        TrainError::Config {
            what: what.into(),
            why: why.into(),
        }
    }

    pub fn io(file: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            file: file.display().to_string(),
            source,
        }
    }

    pub fn checkpoint(file: &Path, why: impl Into<String>) -> Self {
        TrainError::Checkpoint {
            file: file.display().to_string(),
            why: why.into(),
        }
    }
}
