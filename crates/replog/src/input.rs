//! Resolving the paths a command was given: files, directories of segments,
//! or `-` for standard input, and detecting what kind of log they hold.

use anyhow::{Context, Result, bail};
use replog_convert::source::{BinlogInput, LogInput};
use replog_core::LogKind;
use replog_core::reader::{SegmentInput, segment_paths};
use replog_core::segment::MAGIC;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a file looks like from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// A replog segment of this kind (None: the kind byte is damaged).
    Native(Option<LogKind>),
    /// A MySQL or MariaDB binlog.
    Binlog,
    /// A PostgreSQL WAL segment (a page magic of 13 to 18 and a long page
    /// header).
    PgWal,
    /// A PostgreSQL logical decoding output (pgoutput, test_decoding,
    /// wal2json; pg_recvlogical or COPY), recognised by
    /// [`replog_pglogical::sniff`].
    PgLogical(replog_pglogical::Detected),
    /// Something else.
    Unknown,
}

/// Looks at the first bytes of a file. The replog magic is matched loosely
/// (up to 4 differing bits), so that a damaged header is still recognised
/// and reported as damage rather than as a foreign file.
pub fn detect(head: &[u8]) -> Detected {
    if head.starts_with(&[0xfe, b'b', b'i', b'n']) {
        return Detected::Binlog;
    }
    if let [m0, m1, i0, _, ..] = *head {
        let long_header = i0 & 0x02 != 0;
        if long_header
            && replog_pgwal::PgVersion::from_magic(u16::from_le_bytes([m0, m1])).is_some()
        {
            return Detected::PgWal;
        }
    }
    if head.len() >= MAGIC.len() {
        let diff: u32 = head
            .iter()
            .zip(MAGIC.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        if diff <= 4 {
            return Detected::Native(head.get(8).and_then(|&k| LogKind::from_code(k)));
        }
    }
    match replog_pglogical::sniff(head) {
        Some(d) => Detected::PgLogical(d),
        None => Detected::Unknown,
    }
}

/// The inputs of one command, resolved.
#[derive(Debug)]
pub struct Inputs {
    /// Segment files in order.
    pub files: Vec<PathBuf>,
    /// What the first file looks like.
    pub detected: Detected,
    /// The kind named by any readable segment header.
    pub kind: Option<LogKind>,
    _spool: Option<tempfile::TempPath>,
    /// Binlogs read as transactions ([`Inputs::resolve_source`]), classified.
    pub binlog: Option<BinlogInput>,
    /// PostgreSQL WAL read as transactions, with its catalog file.
    pub pgwal: Option<replog_pgheap::PgWalInput>,
    /// A logical decoding output read as transactions.
    pub pglogical: Option<replog_pglogical::PgLogicalInput>,
}

impl Inputs {
    /// Resolves `paths` (files, directories, or `-` once for standard
    /// input, which is spooled to a temporary file so memory stays bounded).
    pub fn resolve(paths: &[String]) -> Result<Inputs> {
        let mut files = Vec::new();
        let mut spool = None;
        for p in paths {
            if p == "-" {
                if spool.is_some() {
                    bail!("standard input can be given only once");
                }
                let mut tmp = tempfile::NamedTempFile::new()
                    .context("creating a spool file for standard input")?;
                std::io::copy(&mut std::io::stdin().lock(), &mut tmp)
                    .context("reading standard input")?;
                let path = tmp.into_temp_path();
                files.push(path.to_path_buf());
                spool = Some(path);
            } else {
                let mut found = segment_paths(Path::new(p)).map_err(anyhow::Error::new)?;
                if found.is_empty() && Path::new(p).is_dir() {
                    // A directory of PostgreSQL WAL segments (pg_wal).
                    found = replog_pgwal::segment::list_directory(Path::new(p)).unwrap_or_default();
                }
                if found.is_empty() {
                    bail!("{p}: no *.replog segment files in this directory");
                }
                files.extend(found);
            }
        }
        let Some(first) = files.first() else {
            bail!("no input given")
        };
        let detected = detect(&head(first)?);
        let mut kind = match detected {
            Detected::Native(k) => k,
            Detected::PgLogical(_) => Some(LogKind::Logical),
            _ => None,
        };
        let pglogical = match detected {
            Detected::PgLogical(d) if files.len() == 1 => {
                Some(replog_pglogical::PgLogicalInput::with(first, d))
            }
            Detected::PgLogical(d) => bail!(
                "{}: a {} file ({}) is read alone: give one file",
                first.display(),
                d.plugin.name(),
                d.container.name()
            ),
            _ => None,
        };
        if kind.is_none() {
            for f in files.iter().skip(1) {
                if let Detected::Native(Some(k)) = detect(&head(f)?) {
                    kind = Some(k);
                    break;
                }
            }
        }
        Ok(Inputs {
            files,
            detected,
            kind,
            _spool: spool,
            binlog: None,
            pgwal: None,
            pglogical,
        })
    }

    /// Like [`Inputs::resolve`], for commands that read transactions
    /// ([`Inputs::txn_input`]): MySQL/MariaDB binlogs are classified (one
    /// pass over their events, rows not decoded) and then imported as they
    /// are read, with no temporary file; `kind` is the kind of native
    /// records their transactions hold (logical with row events, else
    /// statement; a MIXED binlog is logical, its statements executed on the
    /// reference store).
    pub fn resolve_source(paths: &[String]) -> Result<Inputs> {
        Inputs::resolve_source_with(paths, None)
    }

    /// [`Inputs::resolve_source`], PostgreSQL WAL segments (files, or a
    /// directory such as `pg_wal`) decoded into logical transactions with
    /// the catalog file `catalog` (required for WAL).
    pub fn resolve_source_with(paths: &[String], catalog: Option<&Path>) -> Result<Inputs> {
        let mut inputs = Inputs::resolve(paths)?;
        if inputs.detected == Detected::PgWal {
            let Some(catalog) = catalog else {
                bail!(
                    "{}: PostgreSQL WAL needs the catalog of the server that wrote it: \
                     give --catalog FILE, produced on that server with\n  {}",
                    inputs.name(0),
                    replog_pgheap::catalog::HOW_TO_PRODUCE
                );
            };
            inputs.kind = Some(LogKind::Logical);
            inputs.pgwal = Some(replog_pgheap::PgWalInput {
                segments: inputs.files.clone(),
                catalog: catalog.to_path_buf(),
            });
            return Ok(inputs);
        }
        if inputs.detected == Detected::Binlog {
            let b = BinlogInput::new(&inputs.files).map_err(anyhow::Error::new)?;
            inputs.kind = Some(b.kind());
            inputs.binlog = Some(b);
        }
        Ok(inputs)
    }

    /// A server's binlogs read as transactions (`mysql://…`).
    pub fn remote(binlog: BinlogInput) -> Inputs {
        Inputs {
            files: binlog.paths().to_vec(),
            detected: Detected::Binlog,
            kind: Some(binlog.kind()),
            _spool: None,
            binlog: Some(binlog),
            pgwal: None,
            pglogical: None,
        }
    }

    /// These binlogs read as transactions and followed as the server
    /// writes them ([`BinlogInput::following`]).
    pub fn following(mut self, follow: replog_core::follow::Follow) -> Result<Inputs> {
        let b = BinlogInput::following(&self.files, follow).map_err(anyhow::Error::new)?;
        self.kind = Some(b.kind());
        self.binlog = Some(b);
        Ok(self)
    }

    /// What a consumer opens as transactions: the segments of a native log
    /// or the binlogs.
    pub fn txn_input(&self) -> Result<LogInput> {
        if let Some(w) = &self.pgwal {
            return Ok(LogInput::PgWal(w.clone()));
        }
        if let Some(p) = &self.pglogical {
            return Ok(LogInput::PgLogical(p.clone()));
        }
        Ok(match &self.binlog {
            Some(b) => LogInput::Binlog(b.clone()),
            None => LogInput::Native(self.segments()?),
        })
    }

    /// [`Inputs::txn_input`], its reading shown as progress on a terminal
    /// ([`crate::output::WithProgress`]).
    pub fn txn_input_with_progress(&self) -> Result<crate::output::WithProgress> {
        Ok(crate::output::WithProgress(self.txn_input()?))
    }

    /// Fails unless the inputs are a native log or binlogs resolved by
    /// [`Inputs::resolve_source`].
    pub fn require_transactions(&self, what: &str) -> Result<()> {
        if self.binlog.is_some() || self.pgwal.is_some() || self.pglogical.is_some() {
            return Ok(());
        }
        self.require_native(what)
    }

    /// How messages name input `i`: `-` (stdin) for standard input, else
    /// its path.
    pub fn name(&self, i: usize) -> String {
        match (self.files.get(i), &self._spool) {
            (Some(f), Some(spool)) if f.as_path() == AsRef::<Path>::as_ref(spool) => {
                "- (stdin)".to_string()
            }
            (Some(f), _) => f.display().to_string(),
            (None, _) => "(no input)".to_string(),
        }
    }

    /// The segment inputs for a reader (a logical decoding output is
    /// decoded into one segment of a logical log, in memory).
    pub fn segments(&self) -> Result<Vec<SegmentInput>> {
        if self.pglogical.is_some() || self.pgwal.is_some() {
            return self
                .txn_input()?
                .into_segments(replog_core::reader::ReaderOptions::default())
                .map_err(anyhow::Error::new);
        }
        self.files
            .iter()
            .map(|p| SegmentInput::file(p).map_err(anyhow::Error::new))
            .collect()
    }

    /// The first damaged place a reader finds in a native log, as
    /// `<what> at offset N`: for messages about a log that cannot be read
    /// (a damaged segment header), which name the offset as `verify` does.
    pub fn first_damage(&self) -> Option<String> {
        use replog_core::reader::{Event, LogReader, ReaderOptions};
        let mut r = LogReader::new(self.segments().ok()?, ReaderOptions::default());
        while let Some(ev) = r.next() {
            if let Event::Damage(d) = ev.ok()? {
                return Some(format!(
                    "{} at offset {} of {}",
                    d.kind, d.offset, d.segment
                ));
            }
        }
        None
    }

    /// Fails unless the inputs are a native log (or a logical decoding
    /// output, whose [`Inputs::segments`] are one).
    pub fn require_native(&self, what: &str) -> Result<()> {
        match self.detected {
            Detected::Native(_) | Detected::PgLogical(_) => Ok(()),
            // With its catalog, WAL is read as the logical log it decodes to
            // (`Inputs::segments`).
            Detected::PgWal if self.pgwal.is_some() => Ok(()),
            Detected::Binlog => bail!(
                "{}: this is a MySQL/MariaDB binlog; `replog {what}` of binlogs is not supported yet",
                self.name(0)
            ),
            Detected::PgWal => bail!(
                "{}: this is PostgreSQL WAL; `replog {what}` reads it as transactions only \
                 (with --catalog), or see `replog pgwal`",
                self.name(0)
            ),
            Detected::Unknown => bail!(
                "{}: not a replog log (no replog segment magic at offset 0)",
                self.name(0)
            ),
        }
    }
}

fn head(path: &Path) -> Result<Vec<u8>> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut b = Vec::with_capacity(replog_pglogical::file::SNIFF_LEN);
    f.by_ref()
        .take(replog_pglogical::file::SNIFF_LEN as u64)
        .read_to_end(&mut b)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_damaged_magic_but_not_foreign_files() {
        let mut h = MAGIC.to_vec();
        h.push(2);
        assert_eq!(detect(&h), Detected::Native(Some(LogKind::Logical)));
        h[1] ^= 0x10;
        assert_eq!(detect(&h), Detected::Native(Some(LogKind::Logical)));
        assert_eq!(detect(b"\xfebin\x00"), Detected::Binlog);
        assert_eq!(detect(b"\x10\xd1\x07\x00\x01\x00\x00\x00"), Detected::PgWal);
        assert_eq!(
            detect(b"\x10\xd1\x05\x00\x01\x00\x00\x00"),
            Detected::Unknown
        );
        assert_eq!(detect(b"hello world, not a log"), Detected::Unknown);
        assert!(matches!(
            detect(b"0/16B3748\t735\tBEGIN 735\n"),
            Detected::PgLogical(_)
        ));
    }
}
