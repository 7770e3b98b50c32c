//! Static determinism analysis of statement logs: which statements are
//! unsafe for statement-based replication, why, and what context the log
//! captured for them.
//!
//! - [`SchemaTracker`] follows the log's own DDL (CREATE / ALTER / DROP
//!   TABLE, CREATE DATABASE, USE) so rules can depend on the target table:
//!   its auto-increment column, primary and unique keys, column types.
//! - [`analyze()`] parses one statement with sqlparser's MySQL dialect and
//!   returns an [`Analysis`]: [`Reason`]s with stable codes named after
//!   MySQL's `BINLOG_STMT_UNSAFE_*` categories ([`ReasonCode`]), each with a
//!   [`Severity`] that separates "unsafe regardless" from "unsafe unless the
//!   log captured a context item" and from "flagged by MySQL/MariaDB but
//!   deterministic for replog".
//! - [`analyze_statement_log`], [`analyze_binlog`] and [`analyze_paths`]
//!   run it over a native statement log or a binlog and build a
//!   serde-serializable [`Report`]; [`render_table`] prints it for people.
//! - [`run_dynamic`] replays the log on N replicas in parallel, each a
//!   reference store with its own perturbed environment ([`replica`]: clock
//!   offset and drift, random seed, UUID sequence, forward / reverse /
//!   shuffled visit order; replica 0 is the ordinary follower), compares
//!   per-table digest deltas after every transaction and reports the
//!   statements after which replicas disagree, with the differing rows
//!   ([`dynamic`]); [`Report::attach_dynamic`] joins it to the static
//!   report and the summary compares the two.
//! - [`verify_logical`] / [`verify_physical`] check that logical and
//!   physical logs replay identically on every replica.
//!
//! ```
//! use replog_determinism::{ContextFlags, ReasonCode, SchemaTracker, Severity, analyze};
//!
//! let mut schema = SchemaTracker::new();
//! schema.observe_sql("CREATE TABLE shop.t (id INT PRIMARY KEY, grp CHAR(1), r DOUBLE)", None);
//! schema.set_database(Some("shop"));
//!
//! // RAND() is safe only if the log captured the seed.
//! let raw = analyze("UPDATE t SET r = RAND()", &ContextFlags::none(), &schema)?;
//! assert_eq!(raw.reasons[0].code, ReasonCode::NeedsRandSeed);
//! assert_eq!(raw.reasons[0].severity, Severity::MissingContext);
//! let seeded = ContextFlags { rand_seed: true, ..ContextFlags::none() };
//! assert!(!analyze("UPDATE t SET r = RAND()", &seeded, &schema)?.is_flagged());
//!
//! // LIMIT: MariaDB flags it even with ORDER BY; replog accepts a key order.
//! let a = analyze("DELETE FROM t ORDER BY id LIMIT 1", &ContextFlags::none(), &schema)?;
//! assert!(a.server_flags() && !a.is_unsafe());
//! let a = analyze("DELETE FROM t WHERE grp = 'a' LIMIT 1", &ContextFlags::none(), &schema)?;
//! assert!(a.is_unsafe_regardless());
//! # Ok::<(), replog_determinism::AnalyzeError>(())
//! ```
#![deny(missing_docs)]

pub mod analyze;
pub mod context;
pub mod dynamic;
pub mod input;
pub mod reason;
pub mod replica;
pub mod report;
pub mod tables;
pub mod verify;

pub use analyze::{Analysis, AnalyzeError, StatementKind, analyze, analyze_parsed};
pub use context::{ContextFlags, ContextItem};
pub use dynamic::{
    DynamicOptions, DynamicRun, DynamicSummary, ReplicaRun, replay_on_replicas,
    replay_on_replicas_reporting, run_dynamic,
};
pub use input::{Error, analyze_binlog, analyze_paths, analyze_statement_log};
pub use reason::{ADVICE_ROWS, Reason, ReasonCode, Severity};
pub use replica::{DEFAULT_SEED, ReplicaEnv, ReplicaSpec, replica_specs};
pub use report::{
    LogSource, Report, ReportBuilder, StatementPosition, StatementReport, StatementSource, Summary,
    render_table,
};
pub use tables::{ColumnInfo, ColumnKind, SchemaNote, SchemaTracker, TableInfo};
pub use verify::{IdentityCheck, render_identity, verify_logical, verify_physical};
