//! Shared foundations of replog's native log formats.
//!
//! - [`error`]: errors that carry absolute byte offsets;
//! - [`value`]: the lossless value model every format uses;
//! - [`codec`]: little-endian field readers and writers.
#![deny(missing_docs)]

pub mod codec;
pub mod error;
pub mod value;

pub use error::{Error, ErrorKind, Result};
pub use value::Value;
