//! The files people have: what plugin wrote them and how they are framed.
//!
//! - `pg_recvlogical -f FILE`: each message's bytes followed by `\n`
//!   (binary pgoutput messages included: they are self-delimiting);
//! - `COPY (SELECT lsn, xid, data FROM pg_logical_slot_{get,peek}[_binary]_changes(…)) TO STDOUT`
//!   in text format (tab-separated, backslash escapes, bytea as `\\x…`) or
//!   `WITH (FORMAT csv)` (comma-separated, `"` quoting, bytea as `\x…`).
//!
//! [`sniff`] recognises each from the first bytes; [`CopyRows`] splits a
//! COPY file into rows and unescapes their data column.

use crate::pgoutput::parse_lsn;
use replog_core::error::{Error, Result};

/// A whole capture's bytes: read into memory, or mapped from its file.
#[derive(Debug)]
pub enum Bytes {
    /// In memory.
    Owned(Vec<u8>),
    /// A read-only mapping of the file.
    Mapped(memmap2::Mmap),
}

impl Bytes {
    /// The file at `path`, mapped (an empty file is not mapped).
    ///
    /// The reader treats the mapped bytes like bytes read: every length is
    /// checked before use, so a file rewritten while it is read gives
    /// errors or wrong rows, never a wrong access. A file truncated while
    /// mapped would fault on access to the lost pages: captures are files
    /// written once, not logs being appended to.
    pub fn map(path: &std::path::Path) -> std::io::Result<Bytes> {
        let f = std::fs::File::open(path)?;
        if f.metadata()?.len() == 0 {
            return Ok(Bytes::Owned(Vec::new()));
        }
        map_file(&f).map(Bytes::Mapped)
    }
}

#[allow(unsafe_code)]
fn map_file(f: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: a read-only mapping of the whole file; see `Bytes::map` for
    // files changed by another process while mapped.
    unsafe { memmap2::Mmap::map(f) }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes::Owned(v)
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// Which output plugin wrote a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// pgoutput (binary protocol messages).
    PgOutput,
    /// test_decoding (one text line per change).
    TestDecoding,
    /// wal2json format-version 1 (one JSON document per transaction).
    Wal2JsonV1,
    /// wal2json format-version 2 (one JSON object per change).
    Wal2JsonV2,
}

impl Plugin {
    /// Its name, as PostgreSQL knows it (with the wal2json format version).
    pub fn name(self) -> &'static str {
        match self {
            Plugin::PgOutput => "pgoutput",
            Plugin::TestDecoding => "test_decoding",
            Plugin::Wal2JsonV1 => "wal2json format 1",
            Plugin::Wal2JsonV2 => "wal2json format 2",
        }
    }
}

/// How a file frames the plugin's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// `pg_recvlogical -f`: each message followed by a newline.
    RecvLogical,
    /// COPY text of `(lsn, xid, data)` rows.
    CopyText,
    /// COPY CSV of `(lsn, xid, data)` rows.
    CopyCsv,
}

impl Container {
    /// How the container is named in messages.
    pub fn name(self) -> &'static str {
        match self {
            Container::RecvLogical => "pg_recvlogical output",
            Container::CopyText => "COPY text",
            Container::CopyCsv => "COPY CSV",
        }
    }
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The plugin.
    pub plugin: Plugin,
    /// The framing.
    pub container: Container,
}

/// How many leading bytes [`sniff`] wants (it decides on fewer when the
/// file is shorter).
pub const SNIFF_LEN: usize = 512;

/// Recognises a logical decoding output from its first bytes (at most
/// [`SNIFF_LEN`]); `None` when it is not one.
pub fn sniff(head: &[u8]) -> Option<Detected> {
    // COPY: `HI/LO` LSN, then a tab (text) or a comma (CSV).
    let lsn_len = head
        .iter()
        .position(|&b| !(b.is_ascii_hexdigit() || b == b'/'))
        .unwrap_or(head.len());
    if lsn_len >= 3 && head.get(..lsn_len).is_some_and(|l| l.contains(&b'/')) {
        let container = match head.get(lsn_len) {
            Some(b'\t') => Container::CopyText,
            Some(b',') => Container::CopyCsv,
            _ => return None,
        };
        let sep = if container == Container::CopyText {
            b'\t'
        } else {
            b','
        };
        // xid, then the data column.
        let rest = &head[lsn_len + 1..];
        let x = rest.iter().position(|&b| b == sep)?;
        if x == 0 || !rest[..x].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let data = &rest[x + 1..];
        let data = data.strip_prefix(b"\"").unwrap_or(data);
        let plugin = if data.starts_with(b"\\\\x") || data.starts_with(b"\\x") {
            Plugin::PgOutput
        } else if data.starts_with(b"{") {
            json_plugin(data)?
        } else if test_decoding_line(data) {
            Plugin::TestDecoding
        } else {
            return None;
        };
        return Some(Detected { plugin, container });
    }
    let recv = |plugin| {
        Some(Detected {
            plugin,
            container: Container::RecvLogical,
        })
    };
    if head.first() == Some(&b'{') {
        return recv(json_plugin(head)?);
    }
    if test_decoding_line(head) {
        return recv(Plugin::TestDecoding);
    }
    // pgoutput: a message that can open a stream (Begin, Stream Start,
    // Begin Prepare, a non-transactional Message), with the binary fields
    // that follow (an LSN's high bytes, an xid's).
    if matches!(head.first(), Some(b'B' | b'S' | b'b' | b'M'))
        && head.iter().take(16).any(|&b| b == 0)
    {
        return recv(Plugin::PgOutput);
    }
    None
}

fn json_plugin(data: &[u8]) -> Option<Plugin> {
    let head = &data[..data.len().min(64)];
    let s = String::from_utf8_lossy(head);
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.starts_with("{\"action\":") {
        Some(Plugin::Wal2JsonV2)
    } else if compact.starts_with("{\"xid\":")
        || compact.starts_with("{\"change\":")
        || compact.starts_with("{\"timestamp\":")
        || compact.starts_with("{\"nextlsn\":")
    {
        Some(Plugin::Wal2JsonV1)
    } else {
        None
    }
}

fn test_decoding_line(d: &[u8]) -> bool {
    [
        &b"BEGIN"[..],
        b"COMMIT",
        b"table ",
        b"message: ",
        b"opening a streamed block",
        b"PREPARE TRANSACTION",
    ]
    .iter()
    .any(|p| d.starts_with(p))
}

/// One row of a COPY file, the data column not yet unescaped.
#[derive(Debug, Clone, Copy)]
pub struct CopyRow<'a> {
    /// Absolute offset of the row's first byte.
    pub offset: u64,
    /// The `lsn` column.
    pub lsn: u64,
    /// The `xid` column.
    pub xid: u32,
    /// The `data` column as the file holds it.
    pub raw: &'a [u8],
    /// Absolute offset of `raw`.
    pub data_offset: u64,
    csv_quoted: bool,
    csv: bool,
}

/// The rows of a COPY text or CSV file of `(lsn, xid, data)`.
#[derive(Debug, Clone)]
pub struct CopyRows<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    csv: bool,
    failed: bool,
}

impl<'a> CopyRows<'a> {
    /// The rows of `data` (whose first byte is at absolute offset `base`).
    pub fn new(data: &'a [u8], base: u64, container: Container) -> CopyRows<'a> {
        CopyRows {
            data,
            pos: 0,
            base,
            csv: container == Container::CopyCsv,
            failed: false,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn row(&mut self) -> Result<CopyRow<'a>> {
        let start = self.pos;
        let at = self.base + start as u64;
        let sep = if self.csv { b',' } else { b'\t' };
        let rest = &self.data[start..];
        let field = |from: usize, what: &str| -> Result<usize> {
            rest[from..]
                .iter()
                .position(|&b| b == sep || b == b'\n')
                .filter(|&n| rest.get(from + n) == Some(&sep))
                .ok_or_else(|| {
                    Error::malformed(
                        at + from as u64,
                        format!("COPY row without its {what} column (lsn, xid, data expected)"),
                    )
                })
        };
        let l = field(0, "lsn")?;
        let lsn_s = std::str::from_utf8(&rest[..l]).ok();
        let lsn = lsn_s.and_then(parse_lsn).ok_or_else(|| {
            Error::malformed(
                at,
                "COPY row's lsn column is not an LSN (HI/LO in hexadecimal)",
            )
        })?;
        let x = field(l + 1, "xid")?;
        let xid = std::str::from_utf8(&rest[l + 1..l + 1 + x])
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| {
                Error::malformed(at + l as u64 + 1, "COPY row's xid column is not a number")
            })?;
        let d0 = l + 1 + x + 1;
        let (raw, end, quoted) = if self.csv && rest.get(d0) == Some(&b'"') {
            // A quoted CSV field: `""` is a quote; newlines may be inside.
            let i = d0
                + 1
                + closing_quote(&rest[d0 + 1..], b'"').ok_or_else(|| {
                    Error::eof(
                        self.base + (start + rest.len()) as u64,
                        1,
                        "quoted CSV data column",
                    )
                })?;
            (&rest[d0 + 1..i], i + 1, true)
        } else {
            let n = rest[d0..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(rest.len() - d0);
            (&rest[d0..d0 + n], d0 + n, false)
        };
        match rest.get(end) {
            Some(b'\n') => self.pos = start + end + 1,
            None => {
                return Err(Error::eof(
                    self.base + (start + end) as u64,
                    1,
                    "COPY row (the newline that ends it)",
                ));
            }
            Some(_) => {
                return Err(Error::malformed(
                    self.base + (start + end) as u64,
                    "more than three columns in a COPY row (lsn, xid, data expected)",
                ));
            }
        }
        let data_offset = at + (if quoted { d0 + 1 } else { d0 }) as u64;
        Ok(CopyRow {
            offset: at,
            lsn,
            xid,
            raw,
            data_offset,
            csv_quoted: quoted,
            csv: self.csv,
        })
    }
}

impl<'a> Iterator for CopyRows<'a> {
    type Item = Result<CopyRow<'a>>;

    fn next(&mut self) -> Option<Result<CopyRow<'a>>> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        // COPY text ends with `\.` only when read by psql from a script.
        if &self.data[self.pos..] == b"\\.\n" {
            return None;
        }
        let r = self.row();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

impl<'a> CopyRow<'a> {
    /// The data column's bytes: COPY escapes undone and, for a binary
    /// plugin (`binary`), the bytea hex decoded. Borrowed when nothing was
    /// escaped, else in `scratch`.
    pub fn data<'s>(&self, binary: bool, scratch: &'s mut Vec<u8>) -> Result<&'s [u8]>
    where
        'a: 's,
    {
        if binary {
            // bytea hex: `\\x…` in text, `\x…` in CSV.
            let prefix = if self.raw.starts_with(b"\\\\x") {
                3
            } else if self.raw.starts_with(b"\\x") {
                2
            } else {
                return Err(Error::malformed(
                    self.data_offset,
                    "data column is not bytea in hex (\\x…)",
                ));
            };
            let hex = &self.raw[prefix..];
            if hex.len() % 2 != 0 {
                return Err(Error::malformed(
                    self.data_offset + self.raw.len() as u64,
                    "odd number of hex digits in the data column",
                ));
            }
            scratch.clear();
            scratch.reserve(hex.len() / 2);
            for (i, p) in hex.chunks_exact(2).enumerate() {
                match (hexval(p[0]), hexval(p[1])) {
                    (Some(h), Some(l)) => scratch.push((h << 4) | l),
                    _ => {
                        return Err(Error::malformed(
                            self.data_offset + (prefix + 2 * i) as u64,
                            "not a hex digit in the data column",
                        ));
                    }
                }
            }
            return Ok(scratch);
        }
        if self.csv_quoted {
            if !self.raw.contains(&b'"') {
                return Ok(self.raw);
            }
            scratch.clear();
            let mut i = 0;
            while i < self.raw.len() {
                scratch.push(self.raw[i]);
                i += if self.raw[i] == b'"' { 2 } else { 1 };
            }
            return Ok(scratch);
        }
        if self.csv || !self.raw.contains(&b'\\') {
            return Ok(self.raw);
        }
        copy_unescape(self.raw, self.data_offset, scratch)?;
        Ok(scratch)
    }

    /// Whether the data column is NULL (`\N` in text).
    pub fn is_null(&self) -> bool {
        !self.csv_quoted && self.raw == b"\\N"
    }
}

/// Undoes COPY text escapes (`\\`, `\t`, `\n`, `\r`, `\b`, `\f`, `\v`,
/// octal `\ooo`, `\xhh`) into `out`.
pub fn copy_unescape(raw: &[u8], base: u64, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&e) = raw.get(i + 1) else {
            return Err(Error::malformed(
                base + i as u64,
                "a backslash ends the COPY field",
            ));
        };
        i += 2;
        match e {
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut n = 1;
                while n < 3 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                            n += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let mut v = 0u8;
                let mut n = 0;
                while n < 2 {
                    match raw.get(i).and_then(|&d| hexval(d)) {
                        Some(d) => {
                            v = (v << 4) | d;
                            i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    out.push(b'x');
                } else {
                    out.push(v);
                }
            }
            other => out.push(other),
        }
    }
    Ok(())
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Where the text after an opening quote `q` closes: the index in `b` of
/// the closing quote (a doubled quote stands for one inside); None when it
/// does not close.
pub(crate) fn closing_quote(b: &[u8], q: u8) -> Option<usize> {
    let mut i = 0;
    loop {
        match *b.get(i)? {
            c if c == q && b.get(i + 1) == Some(&q) => i += 2,
            c if c == q => return Some(i),
            _ => i += 1,
        }
    }
}
