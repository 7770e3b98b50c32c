//! Reports: every statement of a log with its reasons, and a summary.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use crate::analyze::{Analysis, StatementKind, analyze, shorten};
use crate::context::ContextFlags;
use crate::reason::{Reason, Severity};
use crate::schema::{SchemaNote, SchemaTracker};

/// Which kind of log a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogSource {
    /// A replog native statement log.
    StatementLog,
    /// A MySQL / MariaDB binlog.
    Binlog,
}

/// Where a statement is in its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Position {
    /// The LSN of the STATEMENT record in a native log.
    Lsn {
        /// Log sequence number.
        lsn: u64,
    },
    /// The offset of the QUERY event in a binlog file.
    Binlog {
        /// File name (without directory).
        file: String,
        /// Byte offset of the event.
        offset: u64,
    },
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Lsn { lsn } => write!(f, "lsn {lsn}"),
            Position::Binlog { file, offset } => write!(f, "{file}:{offset}"),
        }
    }
}

/// One statement of the log and what the analyzer concluded.
#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    /// Where the statement is.
    pub position: Position,
    /// Ordinal of its transaction in the report (1-based).
    pub transaction: u64,
    /// Native log: the transaction id of the BEGIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txid: Option<u64>,
    /// Binlog: the GTID of the transaction (`domain-server-seq` for MariaDB,
    /// `uuid:n` for MySQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtid: Option<String>,
    /// The default database the statement ran in, when captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The SQL text.
    pub sql: String,
    /// What the statement does (absent when it did not parse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<StatementKind>,
    /// Why it is unsafe or flagged (see [`Analysis::reasons`]).
    pub reasons: Vec<Reason>,
    /// Context-dependent reasons whose context was captured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub covered: Vec<Reason>,
    /// What the log captured for the statement.
    pub context: ContextFlags,
    /// Why the statement could not be analyzed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StatementReport {
    /// Whether any reason remains.
    pub fn is_flagged(&self) -> bool {
        !self.reasons.is_empty()
    }

    /// Whether replog concludes the statement may replay differently.
    pub fn is_unsafe(&self) -> bool {
        self.reasons.iter().any(|r| r.severity.is_unsafe())
    }

    /// Whether MySQL / MariaDB would flag it (note 1592).
    pub fn server_flags(&self) -> bool {
        self.reasons.iter().any(|r| r.server_flags)
    }

    /// The most severe conclusion, as one word for tables.
    pub fn verdict(&self) -> &'static str {
        if self.error.is_some() {
            return "not analyzed";
        }
        match self.reasons.iter().map(|r| r.severity).min() {
            Some(Severity::Unsafe) => "UNSAFE",
            Some(Severity::MissingContext) => "missing context",
            Some(Severity::Undecided) => "undecided",
            Some(Severity::ServerOnly) => "server-only",
            Some(Severity::Covered) | None => "safe",
        }
    }
}

/// Counts over a whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Statements in the log (BEGIN / COMMIT queries of binlogs excluded).
    pub statements: u64,
    /// Statements that could not be parsed.
    pub not_analyzed: u64,
    /// Statements with at least one reason (unsafe, or flagged by the
    /// servers only).
    pub flagged: u64,
    /// Statements replog concludes may replay differently.
    pub unsafe_statements: u64,
    /// … of which unsafe whatever context a log captures.
    pub unsafe_regardless: u64,
    /// … of which unsafe only because the log lacks a context item.
    pub missing_context: u64,
    /// Statements MySQL / MariaDB would flag (note 1592).
    pub server_flagged: u64,
    /// Statements the servers flag but replog concludes are deterministic.
    pub server_only: u64,
    /// Flagged statements per reason code (a statement counts once per code).
    pub by_reason: BTreeMap<String, u64>,
    /// Statements per covered reason code (context captured).
    pub covered_by_reason: BTreeMap<String, u64>,
    /// Transactions in the log.
    pub transactions: u64,
    /// Transactions with at least one flagged statement.
    pub transactions_flagged: u64,
    /// Transactions with at least one unsafe statement.
    pub transactions_unsafe: u64,
}

/// The analysis of a whole log.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Native statement log or binlog.
    pub source: LogSource,
    /// The input paths, in order.
    pub inputs: Vec<String>,
    /// Every statement, in log order.
    pub statements: Vec<StatementReport>,
    /// Counts.
    pub summary: Summary,
    /// Schema changes the tracker could not follow.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schema_notes: Vec<SchemaNote>,
    /// Damage and other remarks from the reader (torn tail, uncommitted
    /// transaction, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remarks: Vec<String>,
}

impl Report {
    /// The flagged statements.
    pub fn flagged(&self) -> impl Iterator<Item = &StatementReport> {
        self.statements.iter().filter(|s| s.is_flagged())
    }
}

/// Feeds statements in log order to the schema tracker and the analyzer.
#[derive(Debug)]
pub struct ReportBuilder {
    schema: SchemaTracker,
    report: Report,
}

/// Where a statement came from, for [`ReportBuilder::statement`].
#[derive(Debug, Clone)]
pub struct StatementSource {
    /// Position in the log.
    pub position: Position,
    /// Ordinal of the transaction (1-based).
    pub transaction: u64,
    /// Native transaction id.
    pub txid: Option<u64>,
    /// Binlog GTID.
    pub gtid: Option<String>,
    /// Captured default database.
    pub database: Option<String>,
}

impl ReportBuilder {
    /// A builder for a report on `inputs`.
    pub fn new(source: LogSource, inputs: Vec<String>) -> ReportBuilder {
        ReportBuilder {
            schema: SchemaTracker::new(),
            report: Report {
                source,
                inputs,
                statements: Vec::new(),
                summary: Summary::default(),
                schema_notes: Vec::new(),
                remarks: Vec::new(),
            },
        }
    }

    /// The schema as of the statements fed so far.
    pub fn schema(&self) -> &SchemaTracker {
        &self.schema
    }

    /// Adds a remark (damage, uncommitted tail, …).
    pub fn remark(&mut self, s: impl Into<String>) {
        self.report.remarks.push(s.into());
    }

    /// Analyzes the next statement of the log, then lets the schema tracker
    /// see it.
    pub fn statement(&mut self, src: StatementSource, sql: &str, context: ContextFlags) {
        self.schema.set_database(src.database.as_deref());
        let (analysis, error) = match analyze(sql, &context, &self.schema) {
            Ok(a) => (Some(a), None),
            Err(e) => (None, Some(e.to_string())),
        };
        self.schema.observe_sql(sql, src.database.as_deref());
        let (kind, reasons, covered) = match analysis {
            Some(Analysis {
                kind,
                reasons,
                covered,
                ..
            }) => (Some(kind), reasons, covered),
            None => (None, Vec::new(), Vec::new()),
        };
        self.report.statements.push(StatementReport {
            position: src.position,
            transaction: src.transaction,
            txid: src.txid,
            gtid: src.gtid,
            database: src.database,
            sql: sql.to_string(),
            kind,
            reasons,
            covered,
            context,
            error,
        });
    }

    /// Computes the summary and returns the report.
    pub fn finish(mut self, transactions: u64) -> Report {
        let mut s = Summary {
            transactions,
            ..Summary::default()
        };
        let mut tx_flagged = BTreeSet::new();
        let mut tx_unsafe = BTreeSet::new();
        for st in &self.report.statements {
            s.statements += 1;
            if st.error.is_some() {
                s.not_analyzed += 1;
            }
            if st.is_flagged() {
                s.flagged += 1;
                tx_flagged.insert(st.transaction);
            }
            if st.is_unsafe() {
                s.unsafe_statements += 1;
                tx_unsafe.insert(st.transaction);
            }
            if st.reasons.iter().any(|r| r.severity == Severity::Unsafe) {
                s.unsafe_regardless += 1;
            }
            if st
                .reasons
                .iter()
                .any(|r| r.severity == Severity::MissingContext)
            {
                s.missing_context += 1;
            }
            if st.server_flags() {
                s.server_flagged += 1;
                if !st.is_unsafe() {
                    s.server_only += 1;
                }
            }
            let codes: BTreeSet<&str> = st.reasons.iter().map(|r| r.code.as_str()).collect();
            for c in codes {
                *s.by_reason.entry(c.to_string()).or_default() += 1;
            }
            let codes: BTreeSet<&str> = st.covered.iter().map(|r| r.code.as_str()).collect();
            for c in codes {
                *s.covered_by_reason.entry(c.to_string()).or_default() += 1;
            }
        }
        s.transactions_flagged = tx_flagged.len() as u64;
        s.transactions_unsafe = tx_unsafe.len() as u64;
        self.report.summary = s;
        self.report.schema_notes = self.schema.notes().to_vec();
        self.report
    }
}

fn reasons_cell(st: &StatementReport) -> String {
    if let Some(e) = &st.error {
        return e.clone();
    }
    st.reasons
        .iter()
        .map(|r| {
            let mut s = r.code.as_str().to_string();
            if let Some(sub) = &r.subject {
                s.push_str(&format!(" ({sub})"));
            }
            match r.severity {
                Severity::ServerOnly => s.push_str(" [server flags; replog: deterministic]"),
                Severity::MissingContext => {
                    if let Some(n) = r.needs {
                        s.push_str(&format!(" [not captured: {}]", n.how()));
                    }
                }
                Severity::Undecided => s.push_str(" [undecided]"),
                _ => {}
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes the flagged (and unparsable) statements and the summary as
/// tables, for people.
pub fn render_table(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160)
        .set_header([
            "position",
            "tx",
            "verdict",
            "statement",
            "reasons",
            "captured",
        ]);
    let mut rows = 0;
    for st in report
        .statements
        .iter()
        .filter(|s| s.is_flagged() || s.error.is_some())
    {
        rows += 1;
        let tx = match (&st.gtid, st.txid) {
            (Some(g), _) => g.clone(),
            (None, Some(id)) => id.to_string(),
            (None, None) => format!("#{}", st.transaction),
        };
        t.add_row([
            st.position.to_string(),
            tx,
            st.verdict().to_string(),
            shorten(&st.sql, 70),
            reasons_cell(st),
            st.context.short(),
        ]);
    }
    if rows > 0 {
        writeln!(out, "{t}")?;
    } else {
        writeln!(out, "no statement flagged")?;
    }
    let s = &report.summary;
    let mut sum = Table::new();
    sum.load_style(presets::UTF8_FULL_CONDENSED)
        .set_header(["summary", "count"]);
    for (k, v) in [
        ("statements", s.statements),
        ("flagged", s.flagged),
        ("unsafe (replog)", s.unsafe_statements),
        ("  unsafe regardless of context", s.unsafe_regardless),
        ("  unsafe for missing context", s.missing_context),
        ("flagged by MySQL/MariaDB (note 1592)", s.server_flagged),
        ("  of which deterministic for replog", s.server_only),
        ("not analyzed", s.not_analyzed),
        ("transactions", s.transactions),
        (
            "transactions with a flagged statement",
            s.transactions_flagged,
        ),
        (
            "transactions with an unsafe statement",
            s.transactions_unsafe,
        ),
    ] {
        sum.add_row([k.to_string(), v.to_string()]);
    }
    for (code, n) in &s.by_reason {
        sum.add_row([format!("reason {code}"), n.to_string()]);
    }
    for (code, n) in &s.covered_by_reason {
        sum.add_row([format!("covered {code}"), n.to_string()]);
    }
    writeln!(out, "{sum}")?;
    for n in &report.schema_notes {
        writeln!(out, "schema: {}: {}", n.table, n.message)?;
    }
    for r in &report.remarks {
        writeln!(out, "note: {r}")?;
    }
    Ok(())
}
