//! Log sources: what a command reads transactions from.
//!
//! A [`LogInput`] is the segments of a native log or MySQL/MariaDB binlogs;
//! both open as a [`TxnSource`] yielding the same [`Transaction`]s, so
//! every consumer (replay, diff, state diff, conversions) reads them alike
//! and no command special-cases binlogs.
//!
//! A [`BinlogSource`] imports binlogs as they are read: it pulls one
//! [`replog_import::Importer`] transaction at a time and encodes its
//! records straight into a reused arena ([`VirtualLog`]). Nothing is written to
//! disk, the binlog is imported once, and memory is bounded by the largest
//! transaction (plus the importer's schema history, and for a MIXED binlog
//! the reference store).
//!
//! Which native records the transactions hold is decided before the
//! import by [`replog_import::classify`], a pass that reads the events
//! without decoding rows or checking checksums and stops as soon as it has
//! seen both row events and data-changing statements:
//!
//! - row events and no data-changing statement (ROW): **logical** records
//!   as the row events logged them (DDL as DDL records); no store;
//! - no row event (STATEMENT): **statement** records with the context the
//!   binlog carried;
//! - both (MIXED): **logical** records, the statements executed on the
//!   reference store (as `statement → logical` does) and the row events
//!   applied as logged, in binlog order; the COMMITs carry the store's
//!   digests.
//!
//! The transactions' LSNs are those the native log written from the import
//! would have (so results are the same as through a log file); their
//! [`Transaction::source`] is [`SourceKind::Binlog`], their origin
//! `[<gtid> ]<file>:<pos>`, and [`Transaction::position`] names the binlog
//! position for messages.

use crate::to_logical::{ExecOptions, Executor, Step, ToLogicalReport, TxMeta};
use replog_core::LogKind;
use replog_core::reader::{Damage, DamageKind, ReaderOptions, SegmentInput, Summary};
use replog_core::recovery::{DamageClass, RecoveryPolicy};
use replog_core::segment::{FORMAT_VERSION, SegmentHeader};
use replog_core::txn::{
    Produced, SourceKind, Transaction, TxnInput, TxnProducer, TxnSource, VirtualLog,
};
use replog_core::{Begin, Commit};
use replog_import::{BinlogShape, ImportOptions, ImportReport, ImportedTransaction, Importer};
use replog_store::replay::captured_statement;
use std::path::PathBuf;

/// What a command reads: a native log's segments or binlogs.
#[derive(Debug)]
pub enum LogInput {
    /// The segments of a native log, in order.
    Native(Vec<SegmentInput>),
    /// MySQL/MariaDB binlogs of one server, imported as they are read.
    Binlog(BinlogInput),
    /// PostgreSQL WAL segments decoded into logical transactions with a
    /// catalog file ([`replog_pgheap::PgWalSource`]).
    PgWal(replog_pgheap::PgWalInput),
    /// A PostgreSQL logical decoding output (pgoutput, test_decoding,
    /// wal2json) read as logical transactions in commit order
    /// ([`replog_pglogical::PgLogicalSource`]).
    PgLogical(replog_pglogical::PgLogicalInput),
}

impl TxnInput for LogInput {
    fn open(self, opts: ReaderOptions) -> replog_core::Result<Box<dyn TxnSource>> {
        match self {
            LogInput::Native(segments) => segments.open(opts),
            LogInput::Binlog(b) => b.open(opts),
            LogInput::PgWal(w) => Ok(Box::new(replog_pgheap::source::open(&w)?)),
            LogInput::PgLogical(p) => p.open(opts),
        }
    }
}

/// How large a log [`LogInput::into_segments`] holds in memory at most.
pub const SPOOL_IN_MEMORY: usize = 1 << 30;

impl LogInput {
    /// The input as native log segments, for a consumer that reads a log
    /// more than once (`invert`): a native log's own segments; any other
    /// source's transactions written once as the native log it stands for
    /// ([`replog_core::writer::write_source`]) into a
    /// [`replog_core::reader::Spool`] (in memory, at most
    /// [`SPOOL_IN_MEMORY`]: a larger one is refused with an error that says
    /// to convert it to a native log file first; nothing is written to a
    /// temporary file). A source whose damage its policy
    /// does not accept is an error, as it would be to a consumer reading it
    /// directly. Binlogs are refused: their consumers read the binlog
    /// itself (`invert_binlog`).
    pub fn into_segments(self, opts: ReaderOptions) -> replog_core::Result<Vec<SegmentInput>> {
        let name = match &self {
            LogInput::Native(_) => String::new(),
            LogInput::Binlog(_) => {
                return Err(replog_core::Error::new(
                    replog_core::ErrorKind::Mismatch,
                    0,
                    "binlogs are read as binlogs here, not as a native log",
                ));
            }
            LogInput::PgWal(w) => w
                .segments
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            LogInput::PgLogical(p) => p.path().display().to_string(),
        };
        if let LogInput::Native(segments) = self {
            return Ok(segments);
        }
        let mut src = self.open(opts)?;
        let spool = replog_core::writer::write_source(
            src.as_mut(),
            replog_core::reader::Spool::new(SPOOL_IN_MEMORY),
            |_| {},
        )
        .map_err(|e| {
            let full = std::error::Error::source(&e)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .is_some_and(replog_core::reader::Spool::is_full);
            if !full {
                return e;
            }
            replog_core::Error::unplaced(
                replog_core::ErrorKind::Unsupported,
                format!(
                    "{name}: read twice here, it is held in memory as the native log it \
                     stands for, at most {} MiB, and this one is larger: convert it to a \
                     logical log file first (`replog convert --to logical -o FILE`) and read that",
                    SPOOL_IN_MEMORY >> 20
                ),
            )
        })?;
        if let Some(d) = src.intolerable() {
            return Err(d.to_error());
        }
        Ok(vec![SegmentInput {
            name,
            source: spool.into_source(),
        }])
    }
}

/// Binlog files of one server (in order), classified: how they will be
/// imported, and which damage ends them without an error.
#[derive(Debug, Clone)]
pub struct BinlogInput {
    paths: Vec<PathBuf>,
    shape: BinlogShape,
    follow: Option<replog_core::follow::Follow>,
    remote: Option<RemoteBinlogs>,
    policy: RecoveryPolicy,
}

/// Makes the feed of a server's binlogs (connecting when first read).
pub type FeedOpener = std::sync::Arc<dyn Fn() -> Box<dyn replog_binlog::files::Feed> + Send + Sync>;

/// A server's binlogs, read as a replica.
#[derive(Clone)]
pub struct RemoteBinlogs {
    /// The first binlog's name (the log's identity), or the server.
    pub name: String,
    /// Opens the feed.
    pub open: FeedOpener,
}

impl std::fmt::Debug for RemoteBinlogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteBinlogs")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl BinlogInput {
    /// Classifies `paths` ([`replog_import::classify`]: one pass over the
    /// events, rows not decoded, up to the first damaged event). Damage
    /// fails the import unless a recovery policy accepts it
    /// ([`BinlogInput::with_policy`], or the policy of
    /// [`TxnInput::open`]'s options).
    pub fn new(paths: &[PathBuf]) -> replog_core::Result<BinlogInput> {
        let shape = replog_import::classify(paths, &ImportOptions::default())?;
        Ok(BinlogInput {
            paths: paths.to_vec(),
            shape,
            follow: None,
            remote: None,
            policy: RecoveryPolicy::Strict,
        })
    }

    /// The same binlogs, read under `policy`: damage it accepts ends the
    /// binlogs there, after the last transaction committed before it, and
    /// is handed over as a tolerated [`TxnEvent::Damage`] (a torn tail:
    /// the last file ends inside an event and nothing valid follows;
    /// anything else is corruption).
    ///
    /// [`TxnEvent::Damage`]: replog_core::txn::TxnEvent::Damage
    pub fn with_policy(mut self, policy: RecoveryPolicy) -> BinlogInput {
        self.policy = policy;
        self
    }

    /// Binlogs still being written, followed ([`ImportOptions::follow`]):
    /// the import goes on as the server writes and rotates them, until a
    /// stop is requested. The classification sees only what is written
    /// now, so unless it found row events and no data-changing statement
    /// (a ROW binlog), the statements are executed on the reference store
    /// as for a MIXED binlog: a statement or row event written later is
    /// then never left out. (A data-changing statement written later into
    /// a ROW binlog is an error, as for a binlog that changed while read.)
    pub fn following(
        paths: &[PathBuf],
        follow: replog_core::follow::Follow,
    ) -> replog_core::Result<BinlogInput> {
        let opts = ImportOptions {
            follow: Some(follow),
            ..ImportOptions::default()
        };
        let mut shape = replog_import::classify(paths, &opts)?;
        if shape.row_events == 0 || shape.dml_statements > 0 {
            shape.row_events = shape.row_events.max(1);
            shape.dml_statements = shape.dml_statements.max(1);
        }
        Ok(BinlogInput {
            paths: paths.to_vec(),
            shape,
            follow: Some(follow),
            remote: None,
            policy: RecoveryPolicy::Strict,
        })
    }

    /// A server's binlogs, read as a replica through `remote`'s feed.
    /// Nothing is known of them before they arrive, so the statements are
    /// executed on the reference store as for a MIXED binlog (see
    /// [`BinlogInput::following`]).
    pub fn remote(remote: RemoteBinlogs) -> BinlogInput {
        BinlogInput {
            paths: vec![PathBuf::from(&remote.name)],
            shape: BinlogShape {
                row_events: 1,
                dml_statements: 1,
                ..BinlogShape::default()
            },
            follow: None,
            remote: Some(remote),
            policy: RecoveryPolicy::Strict,
        }
    }

    /// The binlogs `paths` without a classification pass, for a source
    /// that executes every statement ([`BinlogInput::open_executed`]).
    pub fn unclassified(paths: &[PathBuf]) -> BinlogInput {
        BinlogInput {
            paths: paths.to_vec(),
            shape: BinlogShape {
                row_events: 1,
                ..BinlogShape::default()
            },
            follow: None,
            remote: None,
            policy: RecoveryPolicy::Strict,
        }
    }

    /// The binlog files.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// What the classification found.
    pub fn shape(&self) -> BinlogShape {
        self.shape
    }

    /// The kind of native records the transactions will hold.
    pub fn kind(&self) -> LogKind {
        self.shape.kind()
    }

    /// Opens the source with every statement executed on the reference
    /// store (empty, or `base`), as for a MIXED binlog, whatever the
    /// classification found: logical records with the store's digests
    /// (`convert --to logical` of statement and MIXED binlogs).
    pub fn open_executed(self, exec: ExecOptions) -> BinlogSource {
        Produced::new(BinlogTxns::new(self, Some(Executor::new(exec))))
    }

    /// Opens the source (see the module docs for the kind).
    pub fn open_source(self) -> BinlogSource {
        Produced::new(BinlogTxns::new(self, None))
    }
}

impl TxnInput for BinlogInput {
    fn open(self, opts: ReaderOptions) -> replog_core::Result<Box<dyn TxnSource>> {
        Ok(Box::new(self.with_policy(opts.policy).open_source()))
    }
}

/// How transactions are turned into records.
enum Mode {
    Statement,
    Logical,
    /// MIXED: executed on the reference store.
    Mixed(Box<Executor>),
}

/// Binlogs as a [`TxnSource`] (see the module docs).
pub type BinlogSource = Produced<BinlogTxns>;

/// The transactions of binlogs, made one at a time from the importer's
/// ([`TxnProducer`]; [`BinlogSource`] hands them over).
pub struct BinlogTxns {
    importer: Importer,
    mode: Mode,
    kind: LogKind,
    header: SegmentHeader,
    name: String,
    log: VirtualLog,
    policy: RecoveryPolicy,
}

/// The header of the native log binlogs `paths` import as: its identity
/// comes from the binlogs' file names.
pub(crate) fn binlog_header(
    paths: &[PathBuf],
    kind: LogKind,
    start_state: Option<u64>,
) -> SegmentHeader {
    SegmentHeader::of_virtual_log(
        kind,
        FORMAT_VERSION,
        paths
            .iter()
            .map(|p| p.file_name().map_or(&[][..], |n| n.as_encoded_bytes())),
        start_state,
    )
}

impl BinlogTxns {
    fn new(input: BinlogInput, exec: Option<Executor>) -> BinlogTxns {
        let kind = input.kind();
        let mode = if let Some(e) = exec {
            Mode::Mixed(Box::new(e))
        } else if input.shape.mixed() {
            Mode::Mixed(Box::new(Executor::new(ExecOptions::default())))
        } else if kind == LogKind::Logical {
            Mode::Logical
        } else {
            Mode::Statement
        };
        let kind = match mode {
            Mode::Statement => LogKind::Statement,
            _ => LogKind::Logical,
        };
        let start_state = match &mode {
            Mode::Mixed(e) if e.continues_base() => Some(e.digest()),
            _ => None,
        };
        let header = binlog_header(&input.paths, kind, start_state);
        let name = input
            .paths
            .first()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        BinlogTxns {
            importer: match &input.remote {
                Some(r) => Importer::from_feed((r.open)(), &ImportOptions::default()),
                None => Importer::new(
                    &input.paths,
                    &ImportOptions {
                        follow: input.follow,
                        ..ImportOptions::default()
                    },
                ),
            },
            mode,
            kind,
            header,
            name,
            log: VirtualLog::new(),
            policy: input.policy,
        }
    }

    /// What the import found so far (complete at the end).
    pub fn import_report(&self) -> &ImportReport {
        self.importer.report()
    }

    /// What executing a MIXED binlog's statements found (dependent
    /// statements, row changes); `None` unless the binlog is MIXED.
    pub fn executed(&self) -> Option<&ToLogicalReport> {
        match &self.mode {
            Mode::Mixed(e) => Some(&e.report),
            _ => None,
        }
    }

    /// Gives up the source: the import report and, for a MIXED binlog, the
    /// execution report.
    pub fn into_reports(self) -> (ImportReport, Option<ToLogicalReport>) {
        let exec = match self.mode {
            Mode::Mixed(e) => Some(e.report),
            _ => None,
        };
        (self.importer.into_report(), exec)
    }

    /// The header of the (virtual) native log the import stands for.
    pub fn header(&self) -> &SegmentHeader {
        &self.header
    }

    /// Puts `tx` into the arena; false when it holds nothing for this
    /// kind of log (it is passed over, as a log written from the import
    /// would not hold it).
    fn assemble(&mut self, tx: &ImportedTransaction) -> replog_core::Result<bool> {
        let at = |m: String| {
            replog_core::Error::malformed(tx.position, format!("{}:{}: {m}", tx.file, tx.position))
        };
        let encoded = match &mut self.mode {
            Mode::Statement if tx.statements.is_empty() => return Ok(false),
            Mode::Logical if tx.logical.is_empty() => return Ok(false),
            Mode::Logical if tx.statements_not_in_logical > 0 => {
                return Err(at(format!(
                    "{} data-changing statement(s), where the classification pass found none \
                     (did the binlog change while it was read?)",
                    tx.statements_not_in_logical
                )));
            }
            Mode::Statement | Mode::Logical => None,
            Mode::Mixed(exec) => match execute(exec, tx) {
                Ok(Some(enc)) => Some(enc),
                Ok(None) => return Ok(false),
                Err(e) => {
                    return Err(replog_core::Error::new(
                        replog_core::ErrorKind::Mismatch,
                        e.offset().unwrap_or(tx.position),
                        e.message().to_string(),
                    ));
                }
            },
        };
        let origin = tx.origin();
        let (begin, commit) = match &encoded {
            Some(enc) => (
                Begin {
                    txid: enc.txid,
                    timestamp_us: enc.begin_us,
                    server_id: enc.server_id,
                    origin: &enc.origin,
                },
                enc.commit,
            ),
            None => (
                Begin {
                    txid: tx.txid,
                    timestamp_us: tx.begin_timestamp_us,
                    server_id: tx.server_id,
                    origin: &origin,
                },
                Commit {
                    txid: tx.txid,
                    timestamp_us: tx.commit_timestamp_us,
                    state_before: None,
                    state_after: None,
                },
            ),
        };
        self.log.begin(&begin);
        let pos = tx.position;
        match (&encoded, &self.mode) {
            (Some(enc), _) => {
                for r in &enc.records {
                    self.log.push(pos, r);
                }
            }
            (None, Mode::Statement) => {
                for s in &tx.statements {
                    self.log
                        .push_with(pos, |b| s.as_statement().encode(b).map(|_| ()))
                        .map_err(at)?;
                }
            }
            (None, _) => {
                for op in &tx.logical {
                    self.log.push_with(pos, |b| op.encode(b)).map_err(at)?;
                }
            }
        }
        self.log.commit(commit, pos, SourceKind::Binlog);
        Ok(true)
    }
}

impl BinlogTxns {
    /// The import stopped at `e`: damage the recovery policy accepts ends
    /// the binlogs (recorded in the summary, handed over as tolerated
    /// damage; the transaction it cut is not made); anything else is `e`.
    fn stopped(&mut self, e: replog_core::Error) -> replog_core::Result<bool> {
        if self.policy == RecoveryPolicy::Strict {
            return Err(e);
        }
        let Some(place) = self.importer.damage_at(&e)? else {
            return Err(e);
        };
        let class = if place.torn_tail {
            DamageClass::TornTail
        } else {
            DamageClass::Corrupt
        };
        if !self.policy.tolerates(class, place.last_file) {
            return Err(e);
        }
        self.log.damaged(Damage {
            segment: place.path.display().to_string(),
            offset: place.offset,
            lsn: 0,
            record: 0,
            kind: DamageKind::Event {
                message: e.message().to_string(),
            },
            class,
            last_segment: place.last_file,
            tolerated: true,
            resumes_at: None,
        });
        Ok(false)
    }
}

/// Executes a MIXED binlog transaction on the reference store (its
/// statements run, its row events applied as logged, in binlog order).
pub(crate) fn execute(
    exec: &mut Executor,
    tx: &ImportedTransaction,
) -> crate::Result<Option<replog_store::logwrite::EncodedTransaction>> {
    let bodies = tx.logical_bodies()?;
    let steps: Vec<Step<'_>> = tx
        .parts()
        .into_iter()
        .map(|p| match p {
            replog_import::TxPart::Rows(r) => {
                Step::Rows(r.iter().map(|&i| bodies[i].as_slice()).collect())
            }
            replog_import::TxPart::Statements(list) => Step::Statements(
                list.iter()
                    .map(|&i| {
                        let s = &tx.statements[i];
                        let mut cs = captured_statement(&s.as_statement(), tx.begin_timestamp_us);
                        cs.is_ddl = s.ddl;
                        cs
                    })
                    .collect(),
            ),
        })
        .collect();
    let origin = tx.origin();
    let meta = TxMeta {
        begin: Begin {
            txid: tx.txid,
            timestamp_us: tx.begin_timestamp_us,
            server_id: tx.server_id,
            origin: &origin,
        },
        commit_us: tx.commit_timestamp_us,
        expected: None,
        commit_lsn: 0,
        position: replog_core::txn::binlog_position(&origin),
    };
    exec.transaction(&meta, steps)
}

impl TxnProducer for BinlogTxns {
    fn segment(&self) -> (&str, &SegmentHeader) {
        (&self.name, &self.header)
    }

    fn produce(&mut self) -> replog_core::Result<bool> {
        self.log.clear();
        while let Some(tx) = self.importer.next() {
            let tx = match tx {
                Ok(tx) => tx,
                Err(e) => return self.stopped(e),
            };
            if self.assemble(&tx)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn made(&self) -> Option<Transaction<'_>> {
        self.log.made()
    }

    fn kind(&self) -> LogKind {
        self.kind
    }

    fn summary(&self) -> &Summary {
        self.log.summary()
    }
}
