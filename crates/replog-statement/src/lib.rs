//! replog's native **statement** format: SQL statements with the replay
//! context a follower needs to run them again with the same result.
//!
//! A statement log is a sequence of transactions, each framed as
//! `BEGIN, STATEMENT*, COMMIT` (BEGIN and COMMIT come from
//! [`replog_core::record`]). A [`Statement`] carries the SQL text and a
//! [`Context`] in which every item (default database, timestamp, RAND seeds,
//! INSERT_ID, user variables, session settings, origin…) is individually
//! optional, so that a log captured without any context is distinguishable
//! from one that captured, say, only the timestamp.
//!
//! The byte layout is specified in `formats/statement.md`.
//!
//! ```
//! use replog_statement::{Context, Statement};
//! use replog_core::Value;
//!
//! let mut ctx = Context { database: Some("shop"), timestamp_us: Some(1_700_000_000_000_000), ..Context::default() };
//! ctx.set_user_var("limit", Value::Int(10));
//! let st = Statement::new("DELETE FROM cart LIMIT @limit").with_context(ctx);
//!
//! let mut body = Vec::new();
//! st.encode(&mut body).unwrap();
//! let back = Statement::decode(&body, 0).unwrap();
//! assert_eq!(back, st);
//! assert_eq!(back.context.insert_id, None); // not captured, not zero
//! ```
#![deny(missing_docs)]

/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
mod record;
pub mod sample;

pub use record::{AutoIncrement, Charset, Context, RandSeed, Statement, UserVar, ctx};

use replog_core::record::{Format, LogKind, RecordView};
use replog_core::{Result, TableRef};

/// Record-type bytes of the statement format.
pub mod rtype {
    /// A SQL statement with its replay context.
    pub const STATEMENT: u8 = 0x10;
}

/// The statement format, for generic readers (`replog_core::Format`).
#[derive(Debug, Clone, Copy, Default)]
pub struct StatementFormat;

impl Format for StatementFormat {
    const KIND: LogKind = LogKind::Statement;
    type Record<'a> = Statement<'a>;

    fn decode(body: &[u8], offset: u64) -> Result<Statement<'_>> {
        Statement::decode(body, offset)
    }

    fn type_name(rtype: u8) -> &'static str {
        match rtype {
            rtype::STATEMENT => "STATEMENT",
            _ => "unknown",
        }
    }
}

impl RecordView for Statement<'_> {
    fn type_name(&self) -> &'static str {
        "STATEMENT"
    }

    /// Statements name no table in their layout (the SQL text may name
    /// several), so this is always `None`.
    fn table(&self) -> Option<TableRef<'_>> {
        None
    }

    fn summary(&self) -> String {
        const MAX: usize = 80;
        let mut s = String::new();
        if let Some(db) = self.context.database {
            s.push('[');
            s.push_str(db);
            s.push_str("] ");
        }
        let sql = self.sql.trim();
        let mut cut = sql.len().min(MAX);
        while !sql.is_char_boundary(cut) {
            cut -= 1;
        }
        for ch in sql[..cut].chars() {
            s.push(if ch.is_control() { ' ' } else { ch });
        }
        if cut < sql.len() {
            s.push('…');
        }
        if let Some(code) = self.context.error_code.filter(|&c| c != 0) {
            s.push_str(&format!(" (error {code})"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_core::record::{Record, decode_record};

    #[test]
    fn format_dispatch_and_view() {
        let st = Statement::new("UPDATE t SET a = 1\nWHERE id = 2").with_context(Context {
            database: Some("db1"),
            error_code: Some(1062),
            ..Context::default()
        });
        let mut body = Vec::new();
        st.encode(&mut body).unwrap();
        match decode_record::<StatementFormat>(&body, 0).unwrap() {
            Record::Data(r) => {
                assert_eq!(r.type_name(), "STATEMENT");
                assert_eq!(
                    r.summary(),
                    "[db1] UPDATE t SET a = 1 WHERE id = 2 (error 1062)"
                );
                assert!(r.table().is_none());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(StatementFormat::type_name(0x10), "STATEMENT");
        assert_eq!(StatementFormat::type_name(0x11), "unknown");
    }

    #[test]
    fn summary_truncates_on_char_boundary() {
        let sql = "é".repeat(100);
        let st = Statement::new(&sql);
        let s = st.summary();
        assert!(s.ends_with('…'));
        assert_eq!(s.chars().count(), 41);
    }
}
