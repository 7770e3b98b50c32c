//! test_decoding and wal2json outputs.

use crate::source::PgLogicalSource;
use replog_core::error::{Error, ErrorKind, Result};

/// Decoding state of the text plugins.
#[derive(Debug, Default)]
pub(crate) struct TextState {
    pub(crate) lines: u64,
}

pub(crate) fn step(src: &mut PgLogicalSource) -> Option<Result<bool>> {
    src.text_state().lines += 1;
    Some(Err(Error::new(
        ErrorKind::Unsupported,
        0,
        format!("{} is not read yet", src.detected().plugin.name()),
    )))
}
