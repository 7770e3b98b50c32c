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
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// A binlog file opened by [`open`].
pub type FileReader = StreamReader<BufReader<Tail<File>>>;

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
    let r = StreamReader::with_options(BufReader::with_capacity(1 << 16, tail), opts);
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
    let file = r.get_ref().get_ref().get_ref();
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
