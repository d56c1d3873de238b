//! Everything a chapter cell needs, in one `use ferrolab::prelude::*;`.
pub use crate::error::{Error, Result};
pub use dfdx::prelude::*;
