//! Reports: every statement of a log with its reasons, and a summary.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use comfy_table::{ColumnConstraint, ContentArrangement, Table, presets};
use serde::Serialize;

use crate::analyze::{Analysis, AnalyzeError, StatementKind, analyze_parsed, shorten};
use crate::context::ContextFlags;
use crate::dynamic::{DynamicRun, DynamicSummary};
use crate::reason::{ADVICE_ROWS, Reason, Severity};
use crate::tables::{SchemaNote, SchemaTracker};

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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatementPosition {
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

impl std::fmt::Display for StatementPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatementPosition::Lsn { lsn } => write!(f, "lsn {lsn}"),
            StatementPosition::Binlog { file, offset } => write!(f, "{file}:{offset}"),
        }
    }
}

/// One statement of the log and what the analyzer concluded.
#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    /// Where the statement is.
    pub position: StatementPosition,
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
    /// Dynamic measurement: whether the replicas disagreed after this
    /// statement (absent: not measured, or not replayed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<bool>,
    /// The same, replayed without the log's context (`--compare-context`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged_without_context: Option<bool>,
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
            Some(Severity::Platform) => "platform",
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
    /// Whether the static analysis treated the log as carrying no context
    /// (`--ignore-context`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub context_ignored: bool,
    /// The dynamic measurement (replay on perturbed replicas).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<DynamicRun>,
    /// The dynamic measurement replayed without the log's context, for
    /// comparison (`--compare-context`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_context: Option<DynamicRun>,
}

impl Report {
    /// The flagged statements.
    pub fn flagged(&self) -> impl Iterator<Item = &StatementReport> {
        self.statements.iter().filter(|s| s.is_flagged())
    }

    /// The same log analyzed as if it carried no context but the default
    /// database: no timestamps, RAND seeds, insert ids, LAST_INSERT_ID,
    /// user variables, session settings or thread ids (what
    /// `--ignore-context` replays).
    pub fn without_context(&self) -> Report {
        let mut b = ReportBuilder::new(self.source, self.inputs.clone());
        for st in &self.statements {
            let src = StatementSource {
                position: st.position.clone(),
                transaction: st.transaction,
                txid: st.txid,
                gtid: st.gtid.clone(),
                database: st.database.clone(),
            };
            let ctx = ContextFlags {
                database: st.context.database,
                ..ContextFlags::none()
            };
            b.statement(src, &st.sql, ctx);
        }
        for r in &self.remarks {
            b.remark(r.clone());
        }
        let mut r = b.finish(self.summary.transactions);
        r.context_ignored = true;
        r
    }

    /// Records a dynamic run: the per-statement verdicts and the run
    /// itself, as [`Report::dynamic`] or (`without_context`)
    /// [`Report::without_context`].
    pub fn attach_dynamic(&mut self, run: DynamicRun, without_context: bool) {
        for (st, d) in self.statements.iter_mut().zip(&run.statement_diverged) {
            if without_context {
                st.diverged_without_context = *d;
            } else {
                st.diverged = *d;
            }
        }
        if without_context {
            self.without_context = Some(run);
        } else {
            self.dynamic = Some(run);
        }
    }

    /// Whether the dynamic measurement found any divergence (the primary
    /// run, not the `--compare-context` one).
    pub fn diverged(&self) -> bool {
        self.dynamic.as_ref().is_some_and(DynamicRun::diverged)
    }
}

/// Feeds statements in log order to the schema tracker and the analyzer.
#[derive(Debug)]
pub struct ReportBuilder {
    schema: SchemaTracker,
    report: Report,
    cache: replog_store::parse_cache::ParseCache,
}

/// Where a statement came from, for [`ReportBuilder::statement`].
#[derive(Debug, Clone)]
pub struct StatementSource {
    /// StatementPosition in the log.
    pub position: StatementPosition,
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
            cache: replog_store::parse_cache::ParseCache::default(),
            schema: SchemaTracker::new(),
            report: Report {
                source,
                inputs,
                statements: Vec::new(),
                summary: Summary::default(),
                schema_notes: Vec::new(),
                remarks: Vec::new(),
                context_ignored: false,
                dynamic: None,
                without_context: None,
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
        // Parsed once (through the store's cache of statement shapes, which
        // gives exactly sqlparser's tree) for the analysis and the schema.
        // Chains of operators nest as deep as the text is long.
        let (analysis, error) =
            replog_store::deep::with_stack(sql.len(), || match self.cache.parse(sql) {
                Ok(stmts) => {
                    let a = analyze_parsed(&stmts, &context, &self.schema);
                    for s in &stmts {
                        self.schema.observe(s, src.database.as_deref());
                    }
                    (Some(a), None)
                }
                Err(e) => {
                    let e = AnalyzeError {
                        statement: shorten(sql, 200),
                        message: e.to_string(),
                    };
                    (None, Some(e.to_string()))
                }
            });
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
            diverged: None,
            diverged_without_context: None,
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
                Severity::Platform => s.push_str(" [may differ between platforms]"),
                _ => {}
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn dynamic_cell(d: Option<bool>) -> &'static str {
    match d {
        Some(true) => "DIVERGED",
        Some(false) => "identical",
        None => "-",
    }
}

fn dynamic_rows(d: &DynamicSummary) -> Vec<(&'static str, String)> {
    let pos = d
        .first_divergence
        .as_ref()
        .map_or_else(|| "-".to_string(), ToString::to_string);
    vec![
        ("replicas", d.replicas.to_string()),
        ("seed (--seed)", d.seed.to_string()),
        ("transactions replayed", d.transactions.to_string()),
        ("statements replayed", d.statements.to_string()),
        (
            "transactions identical on every replica",
            format!(
                "{} ({:.2}%)",
                d.transactions_identical,
                d.identical_share * 100.0
            ),
        ),
        ("transactions diverged", d.transactions_diverged.to_string()),
        ("statements diverged", d.statements_diverged.to_string()),
        (
            "  of which only after an earlier divergence",
            d.statements_diverged_inherited.to_string(),
        ),
        ("unsafe and diverged", d.flagged_and_diverged.to_string()),
        (
            "unsafe but identical in this run",
            d.flagged_but_stable.to_string(),
        ),
        (
            "DIVERGED BUT NOT FLAGGED (bug)",
            d.diverged_not_flagged.to_string(),
        ),
        (
            "transactions failing on every replica",
            d.transactions_failed.to_string(),
        ),
        (
            "replica 0 differs from the log's digests",
            d.leader_mismatches.to_string(),
        ),
        ("first divergence", pos),
    ]
}

/// Columns never wrapped: positions (`file:offset`), transactions and
/// verdicts are read whole; the statement and value columns wrap instead.
fn keep_whole(t: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}

/// Divergences listed in tables (all of them are in the JSON output).
const MAX_TABLE_DIVERGENCES: usize = 50;

fn render_divergences(title: &str, run: &DynamicRun, out: &mut impl Write) -> std::io::Result<()> {
    if run.divergences.is_empty() {
        return Ok(());
    }
    writeln!(out, "{title}")?;
    let mut t = Table::new();
    t.load_style(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160)
        .set_header([
            "position",
            "tx",
            "statement",
            "table",
            "row",
            "each replica's value",
        ]);
    keep_whole(&mut t, &[0, 1]);
    for d in run.divergences.iter().take(MAX_TABLE_DIVERGENCES) {
        let mut stmt = shorten(&d.sql, 50);
        if d.inherited {
            stmt.push_str("\n[after an earlier divergence]");
        } else if d.flagged {
            stmt.push_str("\n[flagged unsafe]");
        } else {
            stmt.push_str("\n[NOT FLAGGED: bug]");
        }
        let (key, values) = if !d.errors.is_empty() {
            let v = d
                .errors
                .iter()
                .enumerate()
                .map(|(i, e)| format!("#{i}: {}", e.as_deref().unwrap_or("ok")))
                .collect::<Vec<_>>()
                .join("\n");
            ("(outcome)".to_string(), v)
        } else if d.rows.is_empty() {
            (
                "(digest)".to_string(),
                format!("replicas {:?} differ from #0", d.replicas),
            )
        } else {
            let keys = d
                .rows
                .iter()
                .map(|r| r.key.clone())
                .collect::<Vec<_>>()
                .join("\n");
            let mut vals = Vec::new();
            for r in &d.rows {
                vals.push(format!("{}:", r.key));
                // Replicas with the same value on one line.
                let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
                for (i, v) in r.values.iter().enumerate() {
                    match groups.iter_mut().find(|(g, _)| g == v) {
                        Some((_, ids)) => ids.push(i),
                        None => groups.push((v.clone(), vec![i])),
                    }
                }
                for (v, ids) in groups {
                    let ids: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
                    vals.push(format!("  {} {}", ids.join(","), shorten(&v, 70)));
                }
            }
            if d.rows_total > d.rows.len() {
                vals.push(format!("… {} rows differ", d.rows_total));
            }
            (keys, vals.join("\n"))
        };
        t.add_row([
            d.position.to_string(),
            d.tx.clone(),
            stmt,
            d.table.clone().unwrap_or_else(|| "-".into()),
            key,
            values,
        ]);
    }
    writeln!(out, "{t}")?;
    if run.divergences.len() > MAX_TABLE_DIVERGENCES {
        writeln!(
            out,
            "… {} more divergences (--format json lists them all)",
            run.divergences.len() - MAX_TABLE_DIVERGENCES
        )?;
    }
    Ok(())
}

/// Writes the flagged, unparsable and diverged statements, the divergences
/// with each replica's rows, the summary (static and dynamic, side by side
/// with the run without context when there is one) and the advice, as
/// tables, for people.
pub fn render_table(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let dynamic = report.dynamic.is_some();
    let compare = report.without_context.is_some();
    let mut header = vec![
        "position",
        "tx",
        "verdict",
        "statement",
        "reasons",
        "captured",
    ];
    if dynamic {
        header.push("replicas");
    }
    if compare {
        header.push("without context");
    }
    let mut t = Table::new();
    t.load_style(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160)
        .set_header(header);
    keep_whole(&mut t, &[0, 1, 2]);
    let mut rows = 0;
    for st in report.statements.iter().filter(|s| {
        s.is_flagged()
            || s.error.is_some()
            || s.diverged == Some(true)
            || s.diverged_without_context == Some(true)
    }) {
        rows += 1;
        let tx = match (&st.gtid, st.txid) {
            (Some(g), _) => g.clone(),
            (None, Some(id)) => id.to_string(),
            (None, None) => format!("#{}", st.transaction),
        };
        let mut row = vec![
            st.position.to_string(),
            tx,
            st.verdict().to_string(),
            shorten(&st.sql, 70),
            reasons_cell(st),
            st.context.short(),
        ];
        if dynamic {
            row.push(dynamic_cell(st.diverged).to_string());
        }
        if compare {
            row.push(dynamic_cell(st.diverged_without_context).to_string());
        }
        t.add_row(row);
    }
    if rows > 0 {
        writeln!(out, "{t}")?;
    } else {
        writeln!(out, "no statement flagged")?;
    }
    if let Some(run) = &report.dynamic {
        let title = if run.summary.ignore_context {
            "divergences (replayed without the log's context):"
        } else {
            "divergences:"
        };
        render_divergences(title, run, out)?;
    }
    if let Some(run) = &report.without_context {
        render_divergences("divergences without the log's context:", run, out)?;
    }
    let s = &report.summary;
    let mut sum = Table::new();
    let mut sum_header = vec!["summary", "count"];
    if compare {
        sum_header = vec!["summary", "with context", "without context"];
    }
    sum.load_style(presets::ASCII_MARKDOWN)
        .set_header(sum_header);
    let mut add = |k: &str, v: String, w: Option<String>| {
        let mut row = vec![k.to_string(), v];
        if compare {
            row.push(w.unwrap_or_default());
        }
        sum.add_row(row);
    };
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
        add(k, v.to_string(), None);
    }
    for (code, n) in &s.by_reason {
        add(&format!("reason {code}"), n.to_string(), None);
    }
    for (code, n) in &s.covered_by_reason {
        add(&format!("covered {code}"), n.to_string(), None);
    }
    if let Some(run) = &report.dynamic {
        let other = report
            .without_context
            .as_ref()
            .map(|w| dynamic_rows(&w.summary));
        for (i, (k, v)) in dynamic_rows(&run.summary).into_iter().enumerate() {
            let w = other.as_ref().map(|o| o[i].1.clone());
            add(&format!("replay: {k}"), v, w);
        }
    }
    writeln!(out, "{sum}")?;
    if let Some(run) = &report.dynamic {
        writeln!(out, "replicas (seed {}):", run.summary.seed)?;
        for r in &run.replicas {
            writeln!(out, "  {}", r.describe())?;
        }
        if run.summary.ignore_context {
            writeln!(
                out,
                "replayed WITHOUT the log's context: each replica took the time, RAND seeds, insert ids and user variables from its own environment"
            )?;
        }
    }
    for run in report.dynamic.iter().chain(&report.without_context) {
        let n = run.summary.diverged_not_flagged;
        if n > 0 {
            writeln!(
                out,
                "BUG: {n} statement(s) diverged on the replicas although the static analysis found them safe{}: please report them (the rows marked NOT FLAGGED above)",
                if run.summary.ignore_context {
                    " (without context)"
                } else {
                    ""
                }
            )?;
        }
    }
    if let (Some(w), Some(d)) = (&report.without_context, &report.dynamic) {
        writeln!(
            out,
            "the log's context prevents {} of {} statement divergences",
            w.summary
                .statements_diverged
                .saturating_sub(d.summary.statements_diverged),
            w.summary.statements_diverged
        )?;
    }
    let unsafe_list: Vec<&StatementReport> =
        report.statements.iter().filter(|s| s.is_unsafe()).collect();
    for st in unsafe_list.iter().take(20) {
        if let Some(r) = st.reasons.iter().find(|r| r.severity.is_unsafe()) {
            writeln!(
                out,
                "advice: {} ({}, {}): {}",
                st.position,
                r.code.as_str(),
                shorten(&st.sql, 40),
                r.advice
            )?;
        }
    }
    if unsafe_list.len() > 20 {
        writeln!(
            out,
            "advice: … and {} more unsafe statements: {ADVICE_ROWS}",
            unsafe_list.len() - 20
        )?;
    }
    for n in &report.schema_notes {
        writeln!(out, "schema: {}: {}", n.table, n.message)?;
    }
    for r in &report.remarks {
        writeln!(out, "note: {r}")?;
    }
    Ok(())
}
