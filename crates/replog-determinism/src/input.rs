//! Reading the two kinds of statement logs into a [`Report`].

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use replog_binlog::events::StatusVar;
use replog_binlog::{Event, EventBody, StreamReader};
use replog_core::reader::{Event as LogEvent, LogReader, ReaderOptions};
use replog_core::record::{Record, decode_record};
use replog_statement::StatementFormat;

use crate::context::ContextFlags;
use crate::report::{LogSource, Report, ReportBuilder, StatementPosition, StatementSource};

/// Errors reading a log (statements that do not parse are not errors: the
/// report records them).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The log could not be read or decoded (with its offset).
    Log(replog_core::Error),
    /// A file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No input was given.
    NoInput,
    /// The dynamic measurement could not run (a replica thread failed).
    Dynamic(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Log(e) => write!(f, "{e}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::NoInput => f.write_str("no input log given"),
            Error::Dynamic(m) => write!(f, "dynamic measurement: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Log(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            Error::NoInput | Error::Dynamic(_) => None,
        }
    }
}

impl From<replog_core::Error> for Error {
    fn from(e: replog_core::Error) -> Error {
        Error::Log(e)
    }
}

/// Result of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

/// Analyzes a native statement log: the segments at `paths` (files or
/// directories of segments), in order. Damage the reader tolerates is
/// recorded in [`Report::remarks`]; damage it does not tolerate is an error.
pub fn analyze_statement_log(paths: &[PathBuf]) -> Result<Report> {
    if paths.is_empty() {
        return Err(Error::NoInput);
    }
    let mut reader = LogReader::open(paths, ReaderOptions::default())?;
    let mut b = ReportBuilder::new(LogSource::StatementLog, names(paths));
    let mut tx = 0u64;
    let mut txid = None;
    while let Some(ev) = reader.next() {
        match ev? {
            LogEvent::Segment { .. } => {}
            // Damage is not the end of the log: the statements after it
            // would go unanalyzed (the replicas refuse such a log too).
            LogEvent::Damage(d) if !d.tolerated => return Err(d.to_error().into()),
            LogEvent::Damage(d) => b.remark(d.to_error().to_string()),
            LogEvent::Frame(f) => {
                match decode_record::<StatementFormat>(f.body, f.body_offset())? {
                    Record::Begin(begin) => {
                        tx += 1;
                        txid = Some(begin.txid);
                    }
                    Record::Commit(_) => txid = None,
                    Record::Data(st) => {
                        let src = StatementSource {
                            position: StatementPosition::Lsn { lsn: f.lsn },
                            transaction: tx,
                            txid,
                            gtid: None,
                            database: st.context.database.map(str::to_string),
                        };
                        b.statement(src, st.sql, ContextFlags::from_statement(&st.context));
                    }
                }
            }
        }
    }
    let summary = reader.into_summary();
    if let Some(u) = summary.uncommitted {
        b.remark(format!(
            "transaction {} at lsn {} is not committed: its statements are never replayed",
            u.txid, u.lsn
        ));
    }
    Ok(b.finish(tx))
}

/// The statement context a binlog gathers before a QUERY.
#[derive(Debug, Default)]
struct Pending {
    rand: bool,
    insert_id: bool,
    last_insert_id: bool,
    user_vars: BTreeSet<String>,
}

struct BinlogState {
    b: ReportBuilder,
    tx: u64,
    open: bool,
    gtid: Option<String>,
    pending: Pending,
}

impl BinlogState {
    fn start_tx(&mut self, gtid: Option<String>) {
        self.tx += 1;
        self.open = true;
        self.gtid = gtid;
    }

    fn end_tx(&mut self) {
        self.open = false;
        self.gtid = None;
    }

    fn event(&mut self, file: &str, ev: &Event<'_>) -> Result<()> {
        match ev.body() {
            EventBody::MariaGtid(g) => {
                self.start_tx(Some(format!(
                    "{}-{}-{}",
                    g.domain_id,
                    ev.server_id(),
                    g.seq_no
                )));
            }
            EventBody::Gtid(g) => self.start_tx((!g.anonymous).then(|| g.gtid_string())),
            EventBody::Xid(_) => self.end_tx(),
            EventBody::IntVar(iv) => match iv.kind {
                1 => self.pending.last_insert_id = true,
                2 => self.pending.insert_id = true,
                _ => {}
            },
            EventBody::Rand(_) => self.pending.rand = true,
            EventBody::UserVar(u) => {
                self.pending
                    .user_vars
                    .insert(String::from_utf8_lossy(u.name).to_ascii_lowercase());
            }
            EventBody::TransactionPayload(p) => {
                let data = p.decompress()?;
                let mut inner = p.events(&data);
                for e in inner.by_ref() {
                    self.event(file, &e?)?;
                }
            }
            EventBody::Query(q) => {
                let sql = q.query_str();
                let word = sql.trim().trim_end_matches(';').trim();
                if word.eq_ignore_ascii_case("BEGIN") || word.eq_ignore_ascii_case("XA START") {
                    if !self.open {
                        self.start_tx(None);
                    }
                    return Ok(());
                }
                if word.eq_ignore_ascii_case("COMMIT") || word.eq_ignore_ascii_case("ROLLBACK") {
                    self.end_tx();
                    return Ok(());
                }
                if !self.open {
                    self.tx += 1;
                }
                let pending = std::mem::take(&mut self.pending);
                let has = |f: fn(&StatusVar<'_>) -> bool| q.status_vars.iter().any(f);
                let ctx = ContextFlags {
                    database: !q.schema.is_empty(),
                    timestamp: true,
                    timestamp_micros: has(|v| {
                        matches!(v, StatusVar::Microseconds(_) | StatusVar::HrNow(_))
                    }),
                    rand_seed: pending.rand,
                    insert_id: pending.insert_id,
                    last_insert_id: pending.last_insert_id,
                    user_vars: Some(pending.user_vars),
                    sql_mode: has(|v| matches!(v, StatusVar::SqlMode(_))),
                    time_zone: has(|v| matches!(v, StatusVar::TimeZone(_))),
                    // An absent Q_AUTO_INCREMENT means the defaults (1, 1).
                    auto_increment: true,
                    charset: has(|v| matches!(v, StatusVar::Charset { .. })),
                    error_code: true,
                    server_id: true,
                    thread_id: true,
                    complete: true,
                };
                let src = StatementSource {
                    position: StatementPosition::Binlog {
                        file: file.to_string(),
                        offset: ev.position(),
                    },
                    transaction: self.tx,
                    txid: None,
                    gtid: self.gtid.clone(),
                    database: (!q.schema.is_empty())
                        .then(|| String::from_utf8_lossy(q.schema).into_owned()),
                };
                self.b.statement(src, &sql, ctx);
            }
            _ => {}
        }
        Ok(())
    }
}

/// Analyzes MySQL / MariaDB binlog files, in order. The INTVAR, RAND and
/// USER_VAR events before each QUERY, and its status variables, give the
/// statement's captured context; BEGIN / COMMIT queries are transaction
/// boundaries, not statements.
pub fn analyze_binlog(paths: &[PathBuf]) -> Result<Report> {
    if paths.is_empty() {
        return Err(Error::NoInput);
    }
    let mut st = BinlogState {
        b: ReportBuilder::new(LogSource::Binlog, names(paths)),
        tx: 0,
        open: false,
        gtid: None,
        pending: Pending::default(),
    };
    for path in paths {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let mut r = StreamReader::new(BufReader::new(file))
            .map_err(|e| Error::Log(e.context(path.display())))?;
        while let Some(ev) = r.next_event() {
            let ev = ev.map_err(|e| Error::Log(e.context(path.display())))?;
            st.event(&name, &ev)?;
        }
        // Context events never carry over to the next file.
        st.pending = Pending::default();
    }
    let tx = st.tx;
    Ok(st.b.finish(tx))
}

fn is_binlog_file(path: &Path) -> Result<bool> {
    if path.is_dir() {
        return Ok(false);
    }
    let mut f = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        match f.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(replog_binlog::is_binlog(&magic[..n]))
}

/// Analyzes `paths` as a binlog when the first starts with the binlog
/// magic, otherwise as a native statement log.
pub fn analyze_paths(paths: &[PathBuf]) -> Result<Report> {
    let first = paths.first().ok_or(Error::NoInput)?;
    if is_binlog_file(first)? {
        analyze_binlog(paths)
    } else {
        analyze_statement_log(paths)
    }
}
