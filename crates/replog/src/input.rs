//! Resolving the paths a command was given: files, directories of segments,
//! or `-` for standard input, and detecting what kind of log they hold.

use anyhow::{Context, Result, bail};
use replog_convert::source::{BinlogInput, LogInput, RemoteBinlogs};
use replog_core::LogKind;
use replog_core::reader::{SegmentInput, segment_paths};
use replog_core::segment::MAGIC;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How messages name standard input.
pub const STDIN_NAME: &str = "- (stdin)";

/// The file name a binlog on standard input goes by in binlog positions
/// and origins (`stdin:330`), where a binlog file's own name stands.
pub const STDIN_BINLOG: &str = "stdin";

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
    /// Standard input, when `-` is one of `files`.
    stdin: Option<Stdin>,
    /// Binlogs read as transactions ([`Inputs::resolve_source`]), classified.
    pub binlog: Option<BinlogInput>,
    /// PostgreSQL WAL read as transactions, with its catalog file.
    pub pgwal: Option<replog_pgheap::PgWalInput>,
    /// A logical decoding output read as transactions.
    pub pglogical: Option<replog_pglogical::PgLogicalInput>,
}

impl Inputs {
    /// Resolves `paths` (files, directories, or `-` once for standard
    /// input, which is read as it comes and never written to a file: see
    /// [`Stdin`]).
    pub fn resolve(paths: &[String]) -> Result<Inputs> {
        let mut files = Vec::new();
        let mut stdin = None;
        for p in paths {
            if p == "-" {
                if stdin.is_some() {
                    bail!("standard input can be given only once");
                }
                stdin = Some(Stdin::read()?);
                files.push(PathBuf::from("-"));
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
        let detected = detect(&head(first, stdin.as_ref())?);
        if let Some(s) = &stdin
            && files.len() > 1
            && matches!(s, Stdin::Binlog(_))
        {
            bail!(
                "{STDIN_NAME}: a binlog on standard input is read alone: give no other input with it"
            );
        }
        let mut kind = match detected {
            Detected::Native(k) => k,
            Detected::PgLogical(_) => Some(LogKind::Logical),
            _ => None,
        };
        let pglogical = match detected {
            Detected::PgLogical(d) if stdin.is_some() => bail!(
                "{STDIN_NAME}: a {} file is read from its file: give its path",
                d.plugin.name()
            ),
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
                if let Detected::Native(Some(k)) = detect(&head(f, stdin.as_ref())?) {
                    kind = Some(k);
                    break;
                }
            }
        }
        Ok(Inputs {
            files,
            detected,
            kind,
            stdin,
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
        if inputs.detected == Detected::PgWal && inputs.stdin.is_some() {
            bail!("{STDIN_NAME}: PostgreSQL WAL is read from its segment files: give their paths");
        }
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
                spill_limit: None,
            });
            return Ok(inputs);
        }
        if let Some(remote) = inputs.stdin_binlog() {
            // Read once: not classified first; imported as a server's
            // binlogs are (see `BinlogInput::remote`).
            let b = BinlogInput::remote(remote);
            inputs.kind = Some(b.kind());
            inputs.binlog = Some(b);
        } else if inputs.detected == Detected::Binlog {
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
            stdin: None,
            binlog: Some(binlog),
            pgwal: None,
            pglogical: None,
        }
    }

    /// These binlogs read as transactions and followed as the server
    /// writes them ([`BinlogInput::following`]).
    pub fn following(mut self, follow: replog_core::follow::Follow) -> Result<Inputs> {
        if self.stdin.is_some() {
            bail!("{STDIN_NAME}: --follow reads binlog files as they grow, not standard input");
        }
        let b = BinlogInput::following(&self.files, follow).map_err(anyhow::Error::new)?;
        self.kind = Some(b.kind());
        self.binlog = Some(b);
        Ok(self)
    }

    /// Holds at most `bytes` of open transactions' changes in memory when
    /// the input is a PostgreSQL source (WAL, a logical decoding capture);
    /// beyond, they go to temporary files (`--spill-limit`).
    pub fn set_spill_limit(&mut self, bytes: usize) {
        if let Some(w) = &mut self.pgwal {
            w.spill_limit = Some(bytes);
        }
        if let Some(p) = self.pglogical.take() {
            self.pglogical = Some(p.with_spill_limit(bytes));
        }
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
        match self.files.get(i) {
            Some(f) if self.stdin.is_some() && f.as_os_str() == "-" => STDIN_NAME.to_string(),
            Some(f) => f.display().to_string(),
            None => "(no input)".to_string(),
        }
    }

    /// A binlog given as standard input, as a server's binlogs are read:
    /// one stream, handed over once.
    pub fn stdin_binlog(&self) -> Option<RemoteBinlogs> {
        let Some(Stdin::Binlog(head)) = &self.stdin else {
            return None;
        };
        let head = Arc::clone(head);
        Some(RemoteBinlogs {
            name: STDIN_BINLOG.to_string(),
            open: Arc::new(move || {
                Box::new(StdinFeed {
                    head: Arc::clone(&head),
                    handed_over: false,
                })
            }),
        })
    }

    /// Fails when the inputs are standard input, which `what` cannot read
    /// (`why`: what it needs instead of one pass over a stream).
    pub fn require_files(&self, what: &str, why: &str) -> Result<()> {
        if self.stdin.is_some() {
            bail!("{STDIN_NAME}: `replog {what}` {why}: give the file, not standard input");
        }
        Ok(())
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
            .map(|p| match &self.stdin {
                Some(Stdin::Log(bytes)) if p.as_os_str() == "-" => {
                    Ok(SegmentInput::memory(STDIN_NAME, bytes.to_vec()))
                }
                _ => SegmentInput::file(p).map_err(anyhow::Error::new),
            })
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

/// Standard input (`-`), read once and never written to a file.
#[derive(Debug)]
enum Stdin {
    /// A native log (or anything else but a binlog): held in memory, for a
    /// native log's reader reads at offsets and needs the log's length.
    Log(Arc<[u8]>),
    /// A binlog: read as a stream, as it comes, by the one import that
    /// takes its first bytes (read to recognise it) from here.
    Binlog(Arc<Mutex<Option<Vec<u8>>>>),
}

impl Stdin {
    /// Reads the first bytes of standard input and, unless they start a
    /// binlog, the rest.
    fn read() -> Result<Stdin> {
        let mut head = vec![0u8; replog_pglogical::file::SNIFF_LEN];
        let n = replog_core::reader::read_full(&mut std::io::stdin().lock(), &mut head)
            .context("reading standard input")?;
        head.truncate(n);
        if detect(&head) == Detected::Binlog {
            return Ok(Stdin::Binlog(Arc::new(Mutex::new(Some(head)))));
        }
        std::io::stdin()
            .lock()
            .read_to_end(&mut head)
            .context("reading standard input")?;
        Ok(Stdin::Log(head.into()))
    }

    /// Its first bytes.
    fn head(&self) -> Vec<u8> {
        match self {
            Stdin::Log(b) => b[..b.len().min(replog_pglogical::file::SNIFF_LEN)].to_vec(),
            Stdin::Binlog(h) => h.lock().ok().and_then(|h| h.clone()).unwrap_or_default(),
        }
    }
}

/// A binlog on standard input as the feed of one binlog file: its first
/// bytes, then the rest of standard input as it comes.
struct StdinFeed {
    head: Arc<Mutex<Option<Vec<u8>>>>,
    handed_over: bool,
}

impl replog_binlog::files::Feed for StdinFeed {
    fn next_file(
        &mut self,
        opts: replog_binlog::events::ReadOptions,
    ) -> replog_core::Result<Option<(String, replog_binlog::files::FileReader)>> {
        if self.handed_over {
            return Ok(None);
        }
        self.handed_over = true;
        let Some(head) = self.head.lock().ok().and_then(|mut h| h.take()) else {
            return Err(replog_core::Error::unplaced(
                replog_core::ErrorKind::Unsupported,
                format!(
                    "{STDIN_NAME}: a binlog on standard input is read once; this route reads it twice: give the file"
                ),
            ));
        };
        let stream = std::io::Cursor::new(head).chain(std::io::stdin());
        let bytes = replog_binlog::files::Bytes::Stream(Box::new(stream));
        let reader = replog_binlog::StreamReader::with_options(bytes, opts)
            .map_err(|e| e.context(STDIN_NAME))?;
        Ok(Some((STDIN_BINLOG.to_string(), reader)))
    }
}

fn head(path: &Path, stdin: Option<&Stdin>) -> Result<Vec<u8>> {
    if let (Some(s), true) = (stdin, path.as_os_str() == "-") {
        return Ok(s.head());
    }
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
