//! Static determinism analysis of statement logs.
#![deny(missing_docs)]

pub mod analyze;
pub mod context;
pub mod reason;
pub mod schema;

pub use analyze::{Analysis, AnalyzeError, StatementKind, analyze};
pub use context::{ContextFlags, ContextItem};
pub use reason::{Reason, ReasonCode, Severity};
pub use schema::{ColumnInfo, ColumnKind, SchemaTracker, TableInfo};
