//! What can go wrong loading a pretrained model; every message names the file and the field or
//! tensor at fault, what was expected and what was found.

use std::path::PathBuf;

/// An error loading, running or saving a pretrained model.
#[derive(Debug, thiserror::Error)]
pub enum PretrainedError {
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that is not what it should be (not JSON, not safetensors…).
    #[error("{file}: {why}")]
    File { file: PathBuf, why: String },
    /// A config field missing, of the wrong type or with a value we cannot run.
    #[error("{file}: field `{field}`: expected {expected}, found {found}")]
    Field {
        file: PathBuf,
        field: String,
        expected: String,
        found: String,
    },
    /// A tensor missing from the checkpoint.
    #[error("{file}: tensor `{tensor}` is missing (expected shape {expected:?})")]
    MissingTensor {
        file: PathBuf,
        tensor: String,
        expected: Vec<usize>,
    },
    /// A tensor of the wrong shape or element type.
    #[error("{file}: tensor `{tensor}`: expected {expected}, found {found}")]
    BadTensor {
        file: PathBuf,
        tensor: String,
        expected: String,
        found: String,
    },
    /// A model id found in none of the places Hugging Face keeps downloads.
    #[error(
        "model `{model}` not found; looked in:\n  {}\n{how}",
        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join("\n  ")
    )]
    NotFound {
        model: String,
        looked: Vec<PathBuf>,
        how: String,
    },
    /// A layer refused its input (see [`crate::Error`]).
    #[error(transparent)]
    Model(#[from] crate::Error),
}

pub type PretrainedResult<T> = std::result::Result<T, PretrainedError>;

impl PretrainedError {
    pub(crate) fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PretrainedError::Io {
            file: file.into(),
            source,
        }
    }

    pub(crate) fn file(file: impl Into<PathBuf>, why: impl Into<String>) -> Self {
        PretrainedError::File {
            file: file.into(),
            why: why.into(),
        }
    }
}
