//! The one error type of the server: what went wrong, in words a client can act on, and
//! its class, which each front end maps to its own status (HTTP code, gRPC code).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is wrong: bad JSON, shape, datatype, a truncated binary body.
    BadRequest,
    /// No such model or version.
    NotFound,
    /// Not ready, queue full, timed out in the queue, shutting down.
    Unavailable,
    /// Our bug or the model's failure on valid input.
    Internal,
}

#[derive(Debug, Clone)]
pub struct ServeError {
    pub kind: ErrorKind,
    pub message: String,
    /// The failure reason the metrics count it under.
    pub reason: &'static str,
}

impl ServeError {
    pub fn bad(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::BadRequest,
            message: message.into(),
            reason: "BAD_REQUEST",
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            message: message.into(),
            reason: "NOT_FOUND",
        }
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Unavailable,
            message: message.into(),
            reason: "UNAVAILABLE",
        }
    }
    pub fn rejected(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Unavailable,
            message: message.into(),
            reason: "REJECTED",
        }
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Unavailable,
            message: message.into(),
            reason: "TIMEOUT",
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            message: message.into(),
            reason: "OTHER",
        }
    }

    pub fn http_status(&self) -> u16 {
        match self.kind {
            ErrorKind::BadRequest => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServeError {}

pub type ServeResult<T> = Result<T, ServeError>;
