//! The data module's error type: every message says what went wrong and where.
//!
//! "Where" means the file, the 1-based line as a text editor shows it, and the column
//! (by header name when the file has one). Bugs in a user's own [`Dataset`](super::Dataset)
//! implementation (items of different shapes) panic instead: they are not input errors.

use std::fmt;

/// A column as the user knows it: by its header name, or by its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name(String),
    Position(usize),
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Name(name) => write!(f, "column {name:?}"),
            Column::Position(pos) => write!(f, "column {pos}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// One field of a text file holds a value that cannot be used.
    #[error("{file}:{line}: {column}: {value:?} {why}")]
    Field {
        file: String,
        line: u64,
        column: Column,
        value: String,
        why: String,
    },
    /// A line of a text file is malformed as a whole (wrong number of fields, bad UTF-8).
    #[error("{file}:{line}: {why}")]
    Line { file: String, line: u64, why: String },
    /// A file is wrong as a whole (bad magic number, truncated, no rows).
    #[error("{file}: {why}")]
    File { file: String, why: String },
    /// Two inputs that must agree do not (image and label counts, item shapes).
    #[error("{what}: {why}")]
    Mismatch { what: String, why: String },
    /// A requested option cannot work (a test fraction of 1.5, a batch size of 0).
    #[error("{what}: {why}")]
    Config { what: String, why: String },
}

pub type DataResult<T> = std::result::Result<T, DataError>;

impl DataError {
    pub fn file(file: impl Into<String>, why: impl Into<String>) -> Self {
        DataError::File {
            file: file.into(),
            why: why.into(),
        }
    }

    pub fn config(what: impl Into<String>, why: impl Into<String>) -> Self {
        DataError::Config {
            what: what.into(),
            why: why.into(),
        }
    }

    pub fn mismatch(what: impl Into<String>, why: impl Into<String>) -> Self {
        DataError::Mismatch {
            what: what.into(),
            why: why.into(),
        }
    }

    pub(crate) fn io(file: impl Into<String>, source: std::io::Error) -> Self {
        DataError::Io {
            file: file.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_error_reads_like_an_editor_location() {
        let e = DataError::Field {
            file: "data.csv".into(),
            line: 7,
            column: Column::Name("petal_len".into()),
            value: "abc".into(),
            why: "is not a number".into(),
        };
        assert_eq!(
            e.to_string(),
            r#"data.csv:7: column "petal_len": "abc" is not a number"#
        );
        let e = DataError::Field {
            file: "x.csv".into(),
            line: 2,
            column: Column::Position(3),
            value: "".into(),
            why: "is not a number".into(),
        };
        assert_eq!(e.to_string(), r#"x.csv:2: column 3: "" is not a number"#);
    }
}
