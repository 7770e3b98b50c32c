//! Output for people (tables) and programs (JSON, NDJSON), and progress on
//! standard error.

use comfy_table::{ContentArrangement, Table, presets};
use replog_core::reader::{SegmentInput, Source};
use serde::Serialize;
use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned tables for people.
    #[default]
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// Rows printed as tables of at most [`TableSink::CHUNK`] rows each, so
/// memory stays bounded however long the log.
///
/// Cells are kept in one text arena (no allocation per cell or row once
/// warm) and can be written in place ([`TableSink::cell_with`]). The last
/// column is not padded and has no closing `|` (a valid Markdown table, and
/// no trailing blanks on long lines).
#[derive(Debug)]
pub struct TableSink {
    header: Vec<&'static str>,
    right: Vec<usize>,
    /// The buffered cells' text, back to back.
    text: String,
    /// End offset in `text` of every buffered cell, row after row.
    ends: Vec<usize>,
    /// Cells of the row being built.
    open_cells: usize,
    /// Column widths of the buffered rows (and header).
    widths: Vec<usize>,
    /// The rendered chunk.
    line: String,
    printed: bool,
}

impl TableSink {
    /// Rows per printed table.
    pub const CHUNK: usize = 1000;

    /// A sink with these column headers; columns in `right` align right.
    pub fn new(header: Vec<&'static str>, right: &[usize]) -> TableSink {
        let widths = header.iter().map(|h| width(h)).collect();
        TableSink {
            header,
            right: right.to_vec(),
            text: String::new(),
            ends: Vec::new(),
            open_cells: 0,
            widths,
            line: String::new(),
            printed: false,
        }
    }

    /// Adds a row, printing a table when the chunk is full.
    pub fn push(&mut self, out: &mut dyn Write, row: Vec<String>) -> std::io::Result<()> {
        for c in &row {
            self.cell(c);
        }
        self.end_row(out)
    }

    /// Appends a cell to the row being built.
    #[inline]
    pub fn cell(&mut self, c: &str) {
        self.cell_with(|t| t.push_str(c));
    }

    /// Appends a cell whose text `f` writes in place.
    #[inline]
    pub fn cell_with(&mut self, f: impl FnOnce(&mut String)) {
        let start = self.text.len();
        f(&mut self.text);
        let w = width(&self.text[start..]);
        if let Some(m) = self.widths.get_mut(self.open_cells) {
            *m = (*m).max(w);
        }
        self.ends.push(self.text.len());
        self.open_cells += 1;
    }

    /// Ends the row being built (missing cells are empty, extra cells
    /// dropped), printing a table when the chunk is full.
    pub fn end_row(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        let n = self.header.len();
        while self.open_cells < n {
            self.ends.push(self.text.len());
            self.open_cells += 1;
        }
        if self.open_cells > n {
            let keep = self.ends.len() - (self.open_cells - n);
            self.text.truncate(self.ends[keep - 1]);
            self.ends.truncate(keep);
        }
        self.open_cells = 0;
        if self.ends.len() >= Self::CHUNK * n {
            self.flush(out)?;
        }
        Ok(())
    }

    /// Prints what is buffered, in the same layout as [`table`] (Markdown
    /// style) except for the unpadded last column, computed directly:
    /// listings of millions of records are printed this way, and a general
    /// table library costs several times more per cell.
    pub fn flush(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.ends.is_empty() {
            return Ok(());
        }
        let n = self.header.len();
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        if self.printed {
            line.push('\n');
        }
        for (i, h) in self.header.iter().enumerate() {
            self.render_cell(&mut line, i, h);
        }
        for (i, w) in self.widths.iter().enumerate() {
            line.push('|');
            let dashes = if i + 1 == n { w.max(&1) + 1 } else { w + 2 };
            line.extend(std::iter::repeat_n('-', dashes));
        }
        line.push('\n');
        let mut start = 0;
        for (k, &end) in self.ends.iter().enumerate() {
            self.render_cell(&mut line, k % n, &self.text[start..end]);
            start = end;
            if line.len() >= 1 << 16 {
                out.write_all(line.as_bytes())?;
                line.clear();
            }
        }
        out.write_all(line.as_bytes())?;
        line.clear();
        self.line = line;
        self.text.clear();
        self.ends.clear();
        for (w, h) in self.widths.iter_mut().zip(&self.header) {
            *w = width(h);
        }
        self.printed = true;
        Ok(())
    }

    #[inline]
    fn render_cell(&self, line: &mut String, i: usize, c: &str) {
        line.push_str("| ");
        if i + 1 == self.header.len() {
            line.push_str(c);
            line.push('\n');
            return;
        }
        let w = self.widths[i];
        let pad = w - width(c).min(w);
        if self.right.contains(&i) {
            push_spaces(line, pad);
            line.push_str(c);
        } else {
            line.push_str(c);
            push_spaces(line, pad);
        }
        line.push(' ');
    }
}

/// Display width of a cell: its characters (bytes when all ASCII).
#[inline]
fn width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

#[inline]
fn push_spaces(line: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        line.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// A table in replog's style: Markdown-like, readable in a terminal and easy
/// to paste or grep, never wrapped.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(header.iter().copied());
    t
}

/// The `--stats` table: count, bytes and their shares per record or event
/// type, with a total row (the layout of `pg_waldump --stats=record`).
pub fn stats_table<'a>(rows: impl IntoIterator<Item = (&'a str, u64, u64)>) -> Table {
    let rows: Vec<(&str, u64, u64)> = rows.into_iter().collect();
    let n: u64 = rows.iter().map(|r| r.1).sum();
    let b: u64 = rows.iter().map(|r| r.2).sum();
    let mut t = table(&["TYPE", "COUNT", "COUNT%", "BYTES", "BYTES%"]);
    for i in 1..5 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    for (k, c, by) in rows {
        t.add_row(vec![
            k.to_string(),
            c.to_string(),
            percent(c, n),
            by.to_string(),
            percent(by, b),
        ]);
    }
    t.add_row(vec![
        "Total".to_string(),
        n.to_string(),
        "100.00%".into(),
        b.to_string(),
        "100.00%".into(),
    ]);
    t
}

/// Writes a JSON array one element at a time.
#[derive(Debug, Default)]
pub struct JsonArray {
    started: bool,
}

impl JsonArray {
    /// Writes one element.
    pub fn push<T: Serialize>(&mut self, out: &mut dyn Write, v: &T) -> std::io::Result<()> {
        out.write_all(if self.started { b",\n  " } else { b"[\n  " })?;
        self.started = true;
        serde_json::to_writer(&mut *out, v)?;
        Ok(())
    }

    /// Closes the array.
    pub fn finish(self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(if self.started { b"\n]\n" } else { b"[]\n" })
    }

    /// Closes the array that is the first member of a JSON document
    /// (written after `{"name": `), then the document: `, "k": v` for each
    /// of `rest` (pretty-printed), `}` and a newline.
    pub fn finish_document(
        self,
        out: &mut dyn Write,
        rest: &[(&str, serde_json::Value)],
    ) -> std::io::Result<()> {
        self.finish(out)?;
        for (k, v) in rest {
            write!(out, ", {}: ", serde_json::Value::from(*k))?;
            serde_json::to_writer_pretty(&mut *out, v)?;
        }
        out.write_all(b"}\n")
    }
}

/// Writes `v` as the command's one JSON document: pretty-printed for
/// `--format json`, one line for `--format ndjson`.
pub fn json_doc<T: Serialize>(
    out: &mut dyn Write,
    format: OutputFormat,
    v: &T,
) -> std::io::Result<()> {
    if format == OutputFormat::Ndjson {
        return ndjson(out, v);
    }
    serde_json::to_writer_pretty(&mut *out, v)?;
    out.write_all(b"\n")
}

/// Writes one NDJSON line.
pub fn ndjson<T: Serialize>(out: &mut dyn Write, v: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")
}

/// The total size of `files` in bytes (what [`Progress`] counts up to);
/// a file that cannot be looked at counts 0.
pub fn total_len(files: &[std::path::PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Whether progress is shown: standard error is a terminal, or
/// `REPLOG_PROGRESS=always` asks for it anyway (a log file of a long job).
pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal()
        || std::env::var_os("REPLOG_PROGRESS").is_some_and(|v| v == "always")
}

/// Progress on standard error, only when it is a terminal, at most a few
/// times a second.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    last: Instant,
    total: u64,
    done: u64,
    shown: bool,
    /// What is counted, when not bytes of a known total.
    unit: Option<&'static str>,
}

impl Progress {
    /// Progress over `total` bytes: shown when standard error is a
    /// terminal, or `REPLOG_PROGRESS=always`; first at the first update.
    pub fn new(total: u64) -> Progress {
        Progress {
            enabled: progress_wanted(),
            last: Instant::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or_else(Instant::now),
            total,
            done: 0,
            shown: false,
            unit: None,
        }
    }

    /// Progress as a count of `unit` (`transactions compared`), where the
    /// total is not known.
    pub fn counting(unit: &'static str) -> Progress {
        Progress {
            unit: Some(unit),
            ..Progress::new(0)
        }
    }

    /// Reports that `done` bytes have been processed.
    #[inline]
    pub fn update(&mut self, done: u64) {
        self.done = self.done.max(done);
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        if let Some(unit) = self.unit {
            eprint!("\r{done} {unit}   ");
            self.shown = true;
            return;
        }
        let pct = if self.total > 0 {
            done as f64 * 100.0 / self.total as f64
        } else {
            0.0
        };
        eprint!(
            "\r{} / {} ({pct:.0}%)   ",
            human_bytes(done),
            human_bytes(self.total)
        );
        self.shown = true;
    }

    /// Clears the progress line.
    pub fn finish(&mut self) {
        if self.shown {
            eprint!("\r{:60}\r", "");
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A segment that reports how far it has been read.
struct ProgressSource {
    inner: Box<dyn Source>,
    /// Bytes of the segments before this one.
    before: u64,
    progress: Rc<RefCell<Progress>>,
}

impl Source for ProgressSource {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read_at(offset, buf)?;
        if let Ok(mut p) = self.progress.try_borrow_mut() {
            p.update(self.before + offset + n as u64);
        }
        Ok(n)
    }
    // No `as_slice`: every read goes through `read_at`, where progress is
    // counted (only on a terminal, see [`with_progress`]).
}

/// The segments of a log, reporting on standard error, when it is a
/// terminal, how much of them has been read (for commands that read a whole
/// log at once: replay, convert); elsewhere returned as they are. The
/// progress line is cleared when the last segment is dropped.
pub fn with_progress(inputs: Vec<SegmentInput>) -> Vec<SegmentInput> {
    if !progress_wanted() {
        return inputs;
    }
    let total = inputs.iter().map(|i| i.source.len()).sum();
    progress_over(inputs, Progress::new(total)).0
}

fn progress_over(
    inputs: Vec<SegmentInput>,
    progress: Progress,
) -> (Vec<SegmentInput>, Rc<RefCell<Progress>>) {
    let progress = Rc::new(RefCell::new(progress));
    let mut before = 0;
    let wrapped = inputs
        .into_iter()
        .map(|i| {
            let len = i.source.len();
            let source = ProgressSource {
                inner: i.source,
                before,
                progress: progress.clone(),
            };
            before += len;
            SegmentInput {
                name: i.name,
                source: Box::new(source),
            }
        })
        .collect();
    (wrapped, progress)
}

/// `1.5 MiB` style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `12.5%` of `part` in `whole`.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0.00%".into()
    } else {
        format!("{:.2}%", part as f64 * 100.0 / whole as f64)
    }
}

/// Progress through binlogs, by the position of each transaction read
/// (`file`, `pos`) against the files' total size.
#[derive(Debug)]
pub struct BinlogProgress {
    progress: Progress,
    files: Vec<(String, u64)>,
    index: usize,
    before: u64,
}

impl BinlogProgress {
    /// Progress through `files`, read in this order.
    pub fn new(files: &[std::path::PathBuf]) -> BinlogProgress {
        let files: Vec<(String, u64)> = files
            .iter()
            .map(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, std::fs::metadata(p).map_or(0, |m| m.len()))
            })
            .collect();
        BinlogProgress {
            progress: Progress::new(files.iter().map(|f| f.1).sum()),
            files,
            index: 0,
            before: 0,
        }
    }

    /// A transaction at `pos` of binlog `file` was read.
    pub fn at(&mut self, file: &str, pos: u64) {
        if self.files.get(self.index).is_some_and(|f| f.0 != file) {
            if let Some(k) = self.files[self.index..].iter().position(|f| f.0 == file) {
                self.before += self.files[self.index..self.index + k]
                    .iter()
                    .map(|f| f.1)
                    .sum::<u64>();
                self.index += k;
            }
        }
        self.progress.update(self.before + pos);
    }

    /// A transaction whose origin is `[<gtid> ]<file>:<pos>` was read.
    pub fn at_origin(&mut self, origin: &str) {
        let at = origin.rsplit_once(' ').map_or(origin, |(_, at)| at);
        if let Some((file, pos)) = at.rsplit_once(':') {
            self.at(file, pos.parse().unwrap_or(0));
        }
    }

    /// Clears the progress line.
    pub fn finish(&mut self) {
        self.progress.finish();
    }
}

/// A log source whose reading is shown on standard error when it is a
/// terminal: a native log by the bytes of its segments read
/// ([`with_progress`]), any other source (binlogs, PostgreSQL WAL or
/// logical decoding) by the transactions it has handed over.
#[derive(Debug)]
pub struct WithProgress(pub replog_convert::source::LogInput);

impl replog_core::txn::TxnInput for WithProgress {
    fn open(
        self,
        opts: replog_core::reader::ReaderOptions,
    ) -> replog_core::Result<Box<dyn replog_core::txn::TxnSource>> {
        use replog_convert::source::LogInput;
        match self.0 {
            LogInput::Native(s) => LogInput::Native(with_progress(s)).open(opts),
            other => {
                let inner = other.open(opts)?;
                if !progress_wanted() {
                    return Ok(inner);
                }
                Ok(Box::new(Counted {
                    inner,
                    progress: Progress::counting("transactions read"),
                    count: 0,
                }))
            }
        }
    }
}

/// A source whose transactions are counted on standard error.
struct Counted {
    inner: Box<dyn replog_core::txn::TxnSource>,
    progress: Progress,
    count: u64,
}

impl replog_core::txn::TxnSource for Counted {
    fn next(&mut self) -> Option<replog_core::Result<replog_core::txn::TxnEvent<'_>>> {
        let ev = self.inner.next();
        match &ev {
            Some(Ok(replog_core::txn::TxnEvent::Transaction(t))) if t.piece.last => {
                self.count += 1;
                self.progress.update(self.count);
            }
            None => self.progress.finish(),
            _ => {}
        }
        ev
    }

    fn current(&self) -> Option<replog_core::txn::Transaction<'_>> {
        self.inner.current()
    }

    fn kind(&self) -> Option<replog_core::LogKind> {
        self.inner.kind()
    }

    fn summary(&self) -> &replog_core::reader::Summary {
        self.inner.summary()
    }

    fn intolerable(&self) -> Option<&replog_core::reader::Damage> {
        self.inner.intolerable()
    }

    fn at_end(&self) -> bool {
        self.inner.at_end()
    }

    fn state_gaps(&self) -> u64 {
        self.inner.state_gaps()
    }

    fn accept_pieces(&mut self, bytes: usize) {
        self.inner.accept_pieces(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_core::reader::{Event, LogReader, ReaderOptions};

    #[test]
    fn progress_counts_every_byte_read_and_changes_nothing_read() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/native/logical/sample.replog"
        );
        let bytes = std::fs::read(path).unwrap();
        let total = bytes.len() as u64;
        let frames = |inputs: Vec<SegmentInput>| {
            let mut r = LogReader::new(inputs, ReaderOptions::default());
            let mut v = Vec::new();
            while let Some(e) = r.next() {
                if let Event::Frame(f) = e.unwrap() {
                    v.push((f.lsn, f.body.to_vec()));
                }
            }
            v
        };
        let plain = frames(vec![SegmentInput::memory("a", bytes.clone())]);
        let mut p = Progress::new(total);
        p.enabled = false;
        let (wrapped, seen) = progress_over(vec![SegmentInput::memory("a", bytes)], p);
        assert_eq!(frames(wrapped), plain);
        assert_eq!(seen.borrow().done, total);
    }

    #[test]
    fn binlog_progress_adds_the_files_before_the_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("bin.000001");
        let b = dir.path().join("bin.000002");
        std::fs::write(&a, vec![0u8; 1000]).unwrap();
        std::fs::write(&b, vec![0u8; 500]).unwrap();
        let mut p = BinlogProgress::new(&[a, b]);
        p.progress.enabled = false;
        assert_eq!(p.progress.total, 1500);
        p.at_origin("0-1-5 bin.000001:256");
        assert_eq!(p.progress.done, 256);
        p.at_origin("bin.000002:4");
        assert_eq!(p.progress.done, 1004);
        p.at("bin.000002", 300);
        assert_eq!(p.progress.done, 1300);
        // An unknown file moves nothing back.
        p.at("other.000009", 4);
        assert_eq!(p.progress.done, 1300);
    }
}
