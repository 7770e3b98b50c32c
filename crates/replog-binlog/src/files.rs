//! Binlog files of one server, in order, as a reader opens them: fixed, or
//! followed as the server writes them ([`replog_core::follow`]).
//!
//! A server names its binlogs `<base>.<number>` (`mariadb-bin.000001`)
//! and, when it rotates (ROTATE event, `FLUSH BINARY LOGS`, a restart),
//! goes on in the file whose number is one more, of the same width. A
//! followed binlog ends when that successor exists and no more bytes
//! follow; a tail still incomplete then is damage (the reader reports a
//! truncated event at its offset).

use crate::StreamReader;
use crate::events::ReadOptions;
use replog_core::follow::{Follow, Tail};
use replog_core::{Error, Result};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The bytes of one binlog file: a file on disk (followed or not), or a
/// stream that delivers a file's bytes as they arrive (a server's binlog
/// dump, `replog_mysqlrepl`).
pub enum Bytes {
    /// A file on disk.
    File(BufReader<Tail<File>>),
    /// A stream: not seekable.
    Stream(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bytes::File(b) => f.debug_tuple("File").field(b.get_ref()).finish(),
            Bytes::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl Read for Bytes {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Bytes::File(f) => f.read(buf),
            Bytes::Stream(s) => s.read(buf),
        }
    }
}

impl Seek for Bytes {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            Bytes::File(f) => f.seek(pos),
            Bytes::Stream(_) => Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "a binlog read from a server cannot be read again at another position",
            )),
        }
    }
}

/// A binlog file opened by [`open`] or handed over by a [`Feed`].
pub type FileReader = StreamReader<Bytes>;

/// Where a reader of binlogs gets its files, one after the other: files
/// on disk ([`Files`]) or a server (the dump of `replog_mysqlrepl`). Each
/// file comes with its name and a reader past its magic.
pub trait Feed: Send {
    /// The next binlog file (its path, or its name on the server); `None`
    /// when there is none (all read, the server's end, or a stop
    /// requested while following).
    fn next_file(&mut self, opts: ReadOptions) -> Result<Option<(String, FileReader)>>;
    /// Whether events arrive as they happen (a server): a reader shows
    /// each as soon as it is read rather than waiting for more.
    fn live(&self) -> bool {
        false
    }
}

/// Binlog files on disk, in order, followed or not.
#[derive(Debug, Clone)]
pub struct Files {
    files: Vec<PathBuf>,
    next: usize,
    follow: Option<Follow>,
}

impl Files {
    /// `files` in the order given; with `follow`, their successors too.
    pub fn new(files: &[PathBuf], follow: Option<Follow>) -> Files {
        Files::starting_at(files, 0, follow)
    }

    /// [`Files::new`], starting with file number `next` (0-based).
    pub fn starting_at(files: &[PathBuf], next: usize, follow: Option<Follow>) -> Files {
        Files {
            files: files.to_vec(),
            next,
            follow,
        }
    }

    /// The files read or being read so far (successors included).
    pub fn paths(&self) -> &[PathBuf] {
        &self.files
    }
}

impl Feed for Files {
    fn next_file(&mut self, opts: ReadOptions) -> Result<Option<(String, FileReader)>> {
        let Some(path) = next_path(&mut self.files, self.next, self.follow) else {
            return Ok(None);
        };
        self.next += 1;
        Ok(open(&path, opts, self.follow)?.map(|r| (path.display().to_string(), r)))
    }
}

/// The file a server writes after `path`: the number after the last dot
/// plus one, of the same width (`mariadb-bin.000009` → `mariadb-bin.000010`);
/// `None` when the name does not end in a number.
pub fn successor(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let (base, num) = name.rsplit_once('.')?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let next = num.parse::<u64>().ok()?.checked_add(1)?;
    Some(path.with_file_name(format!("{base}.{next:0width$}", width = num.len())))
}

/// The path of file number `next` (0-based) of `files`: as given, or,
/// past the last one while following and no stop is requested, its
/// [`successor`] (appended to `files`). `None`: no more files.
pub fn next_path(files: &mut Vec<PathBuf>, next: usize, follow: Option<Follow>) -> Option<PathBuf> {
    if next == files.len() && follow.is_some() && !replog_core::follow::stop_requested() {
        let succ = files.last().and_then(|p| successor(p))?;
        files.push(succ);
    }
    files.get(next).cloned()
}

/// Opens the binlog `path` (checks the magic), followed with `follow`:
/// its end waits for the server to write more or to move on to
/// [`successor`]. A followed file that does not exist yet is waited for
/// too (a server creates its successor just after rotating); `Ok(None)`
/// when a stop was requested meanwhile.
pub fn open(path: &Path, opts: ReadOptions, follow: Option<Follow>) -> Result<Option<FileReader>> {
    let name = path.display().to_string();
    let file = loop {
        match File::open(path) {
            Ok(f) => break f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && follow.is_some() => {
                if replog_core::follow::stop_requested() {
                    return Ok(None);
                }
                std::thread::sleep(follow.unwrap_or_default().poll);
            }
            Err(e) => return Err(Error::io(e, format!("opening {name}"))),
        }
    };
    let tail = match (follow, successor(path)) {
        (Some(f), Some(next)) => Tail::following(file, f, Box::new(move || next.exists())),
        (Some(f), None) => Tail::following(file, f, Box::new(|| false)),
        (None, _) => Tail::fixed(file),
    };
    if follow.is_some() && replog_core::follow::stop_requested() {
        return Ok(None);
    }
    let r = StreamReader::with_options(Bytes::File(BufReader::with_capacity(1 << 16, tail)), opts);
    match r {
        Ok(r) => Ok(Some(r)),
        // Stopped before the server wrote the magic.
        Err(_) if follow.is_some() && replog_core::follow::stop_requested() => Ok(None),
        Err(e) => Err(e.context(name)),
    }
}

/// Whether a followed reader's next event is not yet whole in its file
/// (reading it would wait for the server): the moment to flush what was
/// printed.
pub fn caught_up(r: &FileReader) -> bool {
    use std::os::unix::fs::FileExt;
    let file = match r.get_ref() {
        Bytes::File(f) => f.get_ref().get_ref(),
        // A server's events are shown as they arrive.
        Bytes::Stream(_) => return true,
    };
    let pos = r.position();
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return true;
    };
    let mut h = [0u8; crate::events::HEADER_LEN];
    if len < pos + h.len() as u64 || file.read_exact_at(&mut h, pos).is_err() {
        return true;
    }
    let event_len = u32::from_le_bytes([h[9], h[10], h[11], h[12]]);
    len < pos + u64::from(event_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors_keep_the_width() {
        let s = |p: &str| successor(Path::new(p)).map(|p| p.display().to_string());
        assert_eq!(
            s("d/mariadb-bin.000001").as_deref(),
            Some("d/mariadb-bin.000002")
        );
        assert_eq!(s("mysql-bin.000009").as_deref(), Some("mysql-bin.000010"));
        assert_eq!(s("b.999").as_deref(), Some("b.1000"));
        assert_eq!(s("binlog"), None);
        assert_eq!(s("x.index"), None);
    }
}
