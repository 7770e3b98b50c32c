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
                self.assemble(&c)?;
                return Ok(true);
            }
        }
    }

    fn assemble(&mut self, c: &crate::decode::Committed) -> replog_core::Result<()> {
        self.origin.clear();
        {
            use std::fmt::Write;
            let _ = write!(self.origin, "{} xid {}", c.commit_lsn, c.xid);
        }
        let origin = std::mem::take(&mut self.origin);
        let begin = Begin {
            txid: u64::from(c.xid),
            timestamp_us: c.commit_us,
            server_id: 0,
            origin: &origin,
        };
        let commit = Commit {
            txid: u64::from(c.xid),
            timestamp_us: c.commit_us,
            state_before: None,
            state_after: None,
        };
        self.log.begin(&begin);
        let pos = c.commit_lsn.0;
        for (rel, at, body) in c.changes() {
            let mut rels: Vec<u32> = Vec::new();
            if rel != 0 {
                rels.push(rel);
            } else if let Ok(LogicalRecord::Truncate(t)) = LogicalRecord::decode(body, 0) {
                rels = t.relation_ids;
            }
            for r in rels {
                let Some((version, info)) = self.decoder.relation_at(r, at) else {
                    continue;
                };
                if self.announced.insert(r, version) != Some(version) {
                    let rel = LogicalRecord::Relation(relation_of(&info, version));
                    self.log
                        .push_with(pos, |b| rel.encode(b))
                        .map_err(|m| replog_core::Error::malformed(pos, m))?;
                }
            }
            self.log.push(pos, body);
        }
        self.log.commit(commit, pos, SourceKind::PostgresWal);
        self.origin = origin;
        Ok(())
    }
}

impl TxnProducer for PgWalTxns {
    fn segment(&self) -> (&str, &SegmentHeader) {
        (&self.name, &self.header)
    }

    fn produce(&mut self) -> replog_core::Result<bool> {
        self.log.clear();
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
}
