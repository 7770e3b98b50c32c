//! Output for people (tables) and programs (JSON, NDJSON), and progress on
//! standard error.

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde::Serialize;
use std::io::{IsTerminal, Write};
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
#[derive(Debug)]
pub struct TableSink {
    header: Vec<&'static str>,
    right: Vec<usize>,
    rows: Vec<Vec<String>>,
    printed: bool,
}

impl TableSink {
    /// Rows per printed table.
    pub const CHUNK: usize = 1000;

    /// A sink with these column headers; columns in `right` align right.
    pub fn new(header: Vec<&'static str>, right: &[usize]) -> TableSink {
        TableSink {
            header,
            right: right.to_vec(),
            rows: Vec::new(),
            printed: false,
        }
    }

    /// Adds a row, printing a table when the chunk is full.
    pub fn push(&mut self, out: &mut dyn Write, row: Vec<String>) -> std::io::Result<()> {
        self.rows.push(row);
        if self.rows.len() >= Self::CHUNK {
            self.flush(out)?;
        }
        Ok(())
    }

    /// Prints what is buffered.
    pub fn flush(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut t = table(&self.header);
        for i in &self.right {
            if let Some(c) = t.column_mut(*i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        for r in self.rows.drain(..) {
            t.add_row(r);
        }
        if self.printed {
            writeln!(out)?;
        }
        writeln!(out, "{t}")?;
        self.printed = true;
        Ok(())
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
}

/// Writes one NDJSON line.
pub fn ndjson<T: Serialize>(out: &mut dyn Write, v: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")
}

/// Progress on standard error, only when it is a terminal, at most a few
/// times a second.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    last: Instant,
    total: u64,
    shown: bool,
}

impl Progress {
    /// Progress over `total` bytes.
    pub fn new(total: u64) -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            last: Instant::now(),
            total,
            shown: false,
        }
    }

    /// Reports that `done` bytes have been processed.
    #[inline]
    pub fn update(&mut self, done: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
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
