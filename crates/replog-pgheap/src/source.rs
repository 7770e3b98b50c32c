//! PostgreSQL WAL segments as a [`TxnSource`] of **logical** transactions.
//!
//! Records are read with [`replog_pgwal::WalReader`] and fed to the
//! [`Decoder`]; each committed transaction with row changes is encoded
//! into a reused arena ([`VirtualLog`]): a RELATION before the first change of each
//! table (from the catalog), then its INSERT / UPDATE / DELETE / TRUNCATE
//! records, as `replog_convert::source::BinlogSource` does for binlogs.
//! The transactions' LSNs are those the native log written from them would
//! have; BEGIN's origin is the WAL LSN of the commit record and the xid
//! (`X/X xid N`, as `replog-pglogical` names the transactions of a logical
//! decoding stream, so that `replog diff` of the two finds them equal), its
//! txid the top-level xid, both times the commit time.

use crate::catalog::Catalog;
use crate::decode::{Decoder, Report, relation_of};
use crate::history::AttrHistory;
use replog_core::reader::Summary;
use replog_core::segment::{FORMAT_VERSION_PG, SegmentHeader};
use replog_core::txn::{Produced, SourceKind, Transaction, TxnProducer, VirtualLog};
use replog_core::{Begin, Commit, LogKind};
use replog_logical::LogicalRecord;
use replog_pgwal::WalReader;
use std::collections::HashMap;
use std::path::PathBuf;

/// WAL segment files and the catalog to decode them with.
#[derive(Debug, Clone)]
pub struct PgWalInput {
    /// Segment files, in order.
    pub segments: Vec<PathBuf>,
    /// The catalog file (output of `fixtures/postgres/catalog.sql`).
    pub catalog: PathBuf,
    /// Bytes of open transactions' changes held in memory
    /// ([`PgWalTxns::set_spill_limit`]); `None`: the default
    /// ([`replog_pgreorder::DEFAULT_LIMIT`]).
    pub spill_limit: Option<usize>,
}

/// The source (see the module docs).
pub type PgWalSource = Produced<PgWalTxns>;

/// The committed transactions of heap WAL, made one at a time
/// ([`TxnProducer`]; [`PgWalSource`] hands them over).
pub struct PgWalTxns {
    reader: WalReader,
    decoder: Decoder,
    header: SegmentHeader,
    name: String,
    log: VirtualLog,
    /// Schema version of each table's last RELATION.
    announced: HashMap<u32, u32>,
    origin: String,
    /// A transaction handed over in pieces, its rest not yet.
    pending: Option<crate::decode::Committed>,
    /// Pieces of about this many bytes when the consumer takes pieces.
    piece_bytes: Option<usize>,
}

/// Opens `input` as a source: reads the catalog (its error says how to
/// produce it).
pub fn open(input: &PgWalInput) -> replog_core::Result<PgWalSource> {
    PgWalTxns::open(input).map(Produced::new)
}

/// A source over `reader` with `catalog`; `paths` name the log.
pub fn source(reader: WalReader, catalog: Catalog, paths: &[PathBuf]) -> PgWalSource {
    Produced::new(PgWalTxns::new(reader, catalog, paths))
}

impl PgWalTxns {
    /// Opens `input`: reads the catalog (its error says how to produce it).
    pub fn open(input: &PgWalInput) -> replog_core::Result<PgWalTxns> {
        let catalog = Catalog::load(&input.catalog).map_err(|e| {
            replog_core::Error::new(replog_core::ErrorKind::Mismatch, 0, e.to_string())
        })?;
        let history = AttrHistory::scan(WalReader::open(&input.segments), &catalog);
        let mut src = PgWalTxns::new(WalReader::open(&input.segments), catalog, &input.segments);
        src.decoder.set_history(history);
        if let Some(l) = input.spill_limit {
            src.set_spill_limit(l);
        }
        Ok(src)
    }

    /// The transactions of `reader` with `catalog`; `paths` name the log.
    pub fn new(reader: WalReader, catalog: Catalog, paths: &[PathBuf]) -> PgWalTxns {
        // The same WAL segments give the same log.
        let header = SegmentHeader::of_virtual_log(
            LogKind::Logical,
            FORMAT_VERSION_PG,
            paths
                .iter()
                .map(|p| p.file_name().map_or(&[][..], |n| n.as_encoded_bytes())),
            None,
        );
        PgWalTxns {
            reader,
            decoder: Decoder::new(catalog),
            header,
            name: paths
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            log: VirtualLog::new(),
            announced: HashMap::new(),
            origin: String::new(),
            pending: None,
            piece_bytes: None,
        }
    }

    /// Holds at most `bytes` of open transactions' changes in memory
    /// ([`Decoder::set_spill_limit`]).
    pub fn set_spill_limit(&mut self, bytes: usize) {
        self.decoder.set_spill_limit(bytes);
    }

    /// What decoding found so far (complete at the end).
    pub fn report(&self) -> &Report {
        self.decoder.report()
    }

    /// The header of the (virtual) native log.
    pub fn header(&self) -> &SegmentHeader {
        &self.header
    }

    /// Reads records until a transaction with changes commits; false at
    /// the end of the WAL.
    fn advance(&mut self) -> replog_core::Result<bool> {
        loop {
            let rec = match self.reader.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => {
                    self.decoder.finish();
                    return Ok(false);
                }
                Err(e) => {
                    return Err(replog_core::Error::malformed(
                        e.offset().unwrap_or(0),
                        e.to_string(),
                    ));
                }
            };
            if let Some(c) = self.decoder.record(&rec)? {
                self.assemble(c)?;
                return Ok(true);
            }
        }
    }

    /// Starts transaction `c` and makes it, or its first piece.
    fn assemble(&mut self, c: crate::decode::Committed) -> replog_core::Result<()> {
        self.origin.clear();
        {
            use std::fmt::Write;
            let _ = write!(self.origin, "{} xid {}", c.commit_lsn, c.xid);
        }
        let begin = Begin {
            txid: u64::from(c.xid),
            timestamp_us: c.commit_us,
            server_id: 0,
            origin: &self.origin,
        };
        self.log.begin(&begin);
        self.fill(c)
    }

    /// Adds `c`'s changes to the transaction begun: all of them and its
    /// COMMIT, or, when the consumer takes pieces, until a piece is full
    /// (the rest is kept for the next [`TxnProducer::produce`]).
    fn fill(&mut self, mut c: crate::decode::Committed) -> replog_core::Result<()> {
        let commit = Commit {
            txid: u64::from(c.xid),
            timestamp_us: c.commit_us,
            state_before: None,
            state_after: None,
        };
        let pos = c.commit_lsn.0;
        while let Some(change) = c.next_change() {
            let (rel, at, body) = change?;
            if rel != 0 {
                self.announce(rel, at, pos)?;
            } else if let Ok(LogicalRecord::Truncate(t)) = LogicalRecord::decode(body, 0) {
                for r in t.relation_ids {
                    self.announce(r, at, pos)?;
                }
            }
            self.log.push(pos, body);
            if self
                .piece_bytes
                .is_some_and(|p| self.log.body_bytes() >= p && !c.is_empty())
            {
                self.log.piece(commit, pos, SourceKind::PostgresWal);
                self.pending = Some(c);
                return Ok(());
            }
        }
        self.log.commit(commit, pos, SourceKind::PostgresWal);
        Ok(())
    }

    /// A RELATION for table `r` as it was at WAL position `at`, unless the
    /// log's last one for it is of the same schema version.
    fn announce(&mut self, r: u32, at: u64, pos: u64) -> replog_core::Result<()> {
        let Some((version, info)) = self.decoder.relation_at(r, at) else {
            return Ok(());
        };
        if self.announced.insert(r, version) != Some(version) {
            let rel = LogicalRecord::Relation(relation_of(&info, version));
            self.log
                .push_with(pos, |b| rel.encode(b))
                .map_err(|m| replog_core::Error::malformed(pos, m))?;
        }
        Ok(())
    }
}

impl TxnProducer for PgWalTxns {
    fn segment(&self) -> (&str, &SegmentHeader) {
        (&self.name, &self.header)
    }

    fn produce(&mut self) -> replog_core::Result<bool> {
        self.log.clear();
        if let Some(c) = self.pending.take() {
            self.fill(c)?;
            return Ok(true);
        }
        self.advance()
    }

    fn made(&self) -> Option<Transaction<'_>> {
        self.log.made()
    }

    fn kind(&self) -> LogKind {
        LogKind::Logical
    }

    fn summary(&self) -> &Summary {
        self.log.summary()
    }

    fn accept_pieces(&mut self, bytes: usize) {
        self.piece_bytes = Some(bytes);
    }
}
