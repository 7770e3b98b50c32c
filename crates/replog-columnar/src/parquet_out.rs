//! Change events as Parquet datasets, hive-partitioned:
//!
//! ```text
//! DIR/changes/date=YYYY-MM-DD/part-NNNNN.parquet                 every change, rows as JSON
//! DIR/tables/table=DB.TABLE/date=YYYY-MM-DD/part-NNNNN.parquet   one table, typed columns
//! ```
//!
//! `date` is the commit date (UTC). Rows are buffered in batches of
//! [`ParquetOptions::batch_rows`] and written in row groups of at most
//! [`ParquetOptions::row_group_rows`]; when the rows buffered and the row
//! groups being encoded pass [`ParquetOptions::memory_budget`], every open
//! file ends its row group: memory is bounded however large the log and
//! however many tables it has. A file is closed when its table's commit
//! date or schema changes. The layout is specified in
//! `formats/columnar.md`.

use crate::batch::{ChangesBuilder, TableBuilder};
use crate::changes::{ReadStats, Row, RowSink, TableColumns, read_rows};
use crate::error::{Error, Result};
use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use replog_core::txn::TxnSource;
use replog_export::event::ChangeEvents;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// How the files are cut.
#[derive(Debug, Clone, Copy)]
pub struct ParquetOptions {
    /// Rows buffered per dataset before they are encoded.
    pub batch_rows: usize,
    /// Largest row group, in rows.
    pub row_group_rows: usize,
    /// Bytes of buffered rows and unfinished row groups, over every open
    /// file, above which every file ends its row group.
    pub memory_budget: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            batch_rows: 8192,
            row_group_rows: 128 * 1024,
            memory_budget: 48 << 20,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// What was read.
    pub read: ReadStats,
    /// Parquet files written.
    pub files: u64,
    /// Distinct tables with a typed dataset.
    pub tables: u64,
}

/// One Parquet file being written.
struct Part {
    writer: ArrowWriter<BufWriter<File>>,
}

impl Part {
    fn create(
        dir: &Path,
        counters: &mut HashMap<PathBuf, u32>,
        opts: &ParquetOptions,
        batch: &RecordBatch,
    ) -> Result<Part> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(e, format!("creating {}", dir.display())))?;
        let n = counters.entry(dir.to_path_buf()).or_insert(0);
        let path = dir.join(format!("part-{n:05}.parquet"));
        *n += 1;
        let file = File::create(&path)
            .map_err(|e| Error::io(e, format!("creating {}", path.display())))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(opts.row_group_rows))
            .set_created_by(format!("replog {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            batch.schema(),
            Some(props),
        )?;
        Ok(Part { writer })
    }
}

/// The rows a dataset buffers before they are encoded: the generic
/// dataset's ([`ChangesBuilder`]) or a table's typed ones ([`TableBuilder`]).
trait Buffer {
    /// Rows buffered.
    fn len(&self) -> usize;
    /// The buffered rows as one batch; the buffer is empty after.
    fn finish(&mut self) -> Result<RecordBatch>;
}

impl Buffer for ChangesBuilder {
    fn len(&self) -> usize {
        ChangesBuilder::len(self)
    }
    fn finish(&mut self) -> Result<RecordBatch> {
        ChangesBuilder::finish(self)
    }
}

impl Buffer for TableBuilder {
    fn len(&self) -> usize {
        TableBuilder::len(self)
    }
    fn finish(&mut self) -> Result<RecordBatch> {
        TableBuilder::finish(self)
    }
}

/// The Parquet files written so far: how many, and the next part number
/// in each directory.
#[derive(Default)]
struct Files {
    count: u64,
    next_part: HashMap<PathBuf, u32>,
}

/// One dataset's open partition: its day, its directory, the rows
/// buffered and the file being written.
struct Dataset<B> {
    date: i32,
    dir: PathBuf,
    rows: B,
    part: Option<Part>,
}

impl<B: Buffer> Dataset<B> {
    /// Encodes the buffered rows (taken off `buffered_rows`, the count over
    /// every dataset) into the partition's file, created first (one more of
    /// `files`) when it has none.
    fn write(
        &mut self,
        files: &mut Files,
        buffered_rows: &mut usize,
        opts: &ParquetOptions,
    ) -> Result<()> {
        if self.rows.len() == 0 {
            return Ok(());
        }
        *buffered_rows -= self.rows.len();
        let batch = self.rows.finish()?;
        if self.part.is_none() {
            self.part = Some(Part::create(&self.dir, &mut files.next_part, opts, &batch)?);
            files.count += 1;
        }
        if let Some(p) = &mut self.part {
            p.writer.write(&batch)?;
        }
        Ok(())
    }
}

/// A [`RowSink`] writing the datasets under a directory.
pub struct ParquetWriter {
    dir: PathBuf,
    opts: ParquetOptions,
    changes: Option<Dataset<ChangesBuilder>>,
    tables: HashMap<String, Dataset<TableBuilder>>,
    files: Files,
    buffered_rows: usize,
    table_names: std::collections::BTreeSet<String>,
}

/// Days since 1970-01-01 (UTC) of a time in µs.
fn day_of(us: i64) -> i32 {
    i32::try_from(us.div_euclid(86_400_000_000)).unwrap_or(i32::MAX)
}

/// `YYYY-MM-DD` of a day number.
fn date_text(day: i32) -> String {
    let (y, m, d) = replog_core::value::civil_from_days(i64::from(day));
    format!("{y:04}-{m:02}-{d:02}")
}

/// A partition value escaped as Hive and Spark escape one in a path:
/// every byte outside `[A-Za-z0-9._-]` as `%XX`.
pub fn escape_partition(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl ParquetWriter {
    /// Writes under `dir` (created if missing).
    pub fn new(dir: &Path, opts: ParquetOptions) -> ParquetWriter {
        ParquetWriter {
            dir: dir.to_path_buf(),
            opts,
            changes: None,
            tables: HashMap::new(),
            files: Files::default(),
            buffered_rows: 0,
            table_names: Default::default(),
        }
    }

    fn write_changes(&mut self) -> Result<()> {
        match &mut self.changes {
            Some(out) => out.write(&mut self.files, &mut self.buffered_rows, &self.opts),
            None => Ok(()),
        }
    }

    fn write_table(&mut self, name: &str) -> Result<()> {
        match self.tables.get_mut(name) {
            Some(out) => out.write(&mut self.files, &mut self.buffered_rows, &self.opts),
            None => Ok(()),
        }
    }

    /// Ends every open file's row group when the memory budget is passed.
    fn bound_memory(&mut self) -> Result<()> {
        let encoding: usize = self
            .changes
            .iter()
            .filter_map(|c| c.part.as_ref())
            .chain(self.tables.values().filter_map(|t| t.part.as_ref()))
            .map(|p| p.writer.memory_size())
            .sum();
        // A buffered row is counted at 256 bytes (its JSON images and
        // typed columns): the builders' own sizes are not exposed.
        if encoding + self.buffered_rows * 256 <= self.opts.memory_budget {
            return Ok(());
        }
        self.write_changes()?;
        let names: Vec<String> = self.tables.keys().cloned().collect();
        for n in &names {
            self.write_table(n)?;
        }
        for p in self
            .changes
            .iter_mut()
            .filter_map(|c| c.part.as_mut())
            .chain(self.tables.values_mut().filter_map(|t| t.part.as_mut()))
        {
            p.writer.flush()?;
        }
        Ok(())
    }

    /// Writes what is buffered and closes every file; returns the number
    /// of files and tables written.
    pub fn finish(mut self) -> Result<(u64, u64)> {
        self.write_changes()?;
        if let Some(out) = self.changes.take()
            && let Some(p) = out.part
        {
            p.writer.close()?;
        }
        let names: Vec<String> = self.tables.keys().cloned().collect();
        for n in &names {
            self.write_table(n)?;
        }
        for (_, t) in self.tables.drain() {
            if let Some(p) = t.part {
                p.writer.close()?;
            }
        }
        Ok((self.files.count, self.table_names.len() as u64))
    }
}

impl RowSink for ParquetWriter {
    fn row(&mut self, c: &Row<'_>) -> Result<()> {
        let day = day_of(c.tx.commit_us);
        // The generic dataset.
        if self.changes.as_ref().is_some_and(|o| o.date != day) {
            self.write_changes()?;
            if let Some(p) = self.changes.take().and_then(|o| o.part) {
                p.writer.close()?;
            }
        }
        let out = self.changes.get_or_insert_with(|| Dataset {
            date: day,
            dir: self
                .dir
                .join("changes")
                .join(format!("date={}", date_text(day))),
            rows: ChangesBuilder::new(),
            part: None,
        });
        out.rows.push(c)?;
        self.buffered_rows += 1;
        if out.rows.len() >= self.opts.batch_rows {
            self.write_changes()?;
            self.bound_memory()?;
        }
        // The table's typed dataset.
        let name = c.table.qualified_name();
        let same = |o: &Dataset<TableBuilder>, t: &Rc<TableColumns>| {
            o.date == day && o.rows.columns().schema == t.schema
        };
        if self.tables.get(&name).is_some_and(|o| !same(o, c.columns)) {
            self.write_table(&name)?;
            if let Some(p) = self.tables.remove(&name).and_then(|o| o.part) {
                p.writer.close()?;
            }
        }
        if !self.tables.contains_key(&name) {
            self.table_names.insert(name.clone());
            self.tables.insert(
                name.clone(),
                Dataset {
                    date: day,
                    dir: self
                        .dir
                        .join("tables")
                        .join(format!("table={}", escape_partition(&name)))
                        .join(format!("date={}", date_text(day))),
                    rows: TableBuilder::new(name.clone(), c.columns.clone()),
                    part: None,
                },
            );
        }
        let full = match self.tables.get_mut(&name) {
            Some(out) => {
                out.rows.push(c)?;
                out.rows.len() >= self.opts.batch_rows
            }
            None => false,
        };
        self.buffered_rows += 1;
        if full {
            self.write_table(&name)?;
            self.bound_memory()?;
        } else if self.buffered_rows * 256 > self.opts.memory_budget {
            self.bound_memory()?;
        }
        Ok(())
    }
}

/// Exports every row change `events` makes of `source` (whose inputs are
/// `files`) under
/// `dir`. On an error the files written so far stay in `dir`: export into
/// a staging directory and rename it when this returns Ok.
pub fn export_parquet(
    events: &mut ChangeEvents,
    source: &mut dyn TxnSource,
    files: &[String],
    dir: &Path,
    opts: ParquetOptions,
) -> Result<ExportStats> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(e, format!("creating {}", dir.display())))?;
    let mut w = ParquetWriter::new(dir, opts);
    let read = read_rows(events, source, files, &mut w)?;
    let (files_written, tables) = w.finish()?;
    Ok(ExportStats {
        read,
        files: files_written,
        tables,
    })
}

/// The schema of a dataset file, for tests and tools.
pub fn file_schema(path: &Path) -> Result<Arc<arrow::datatypes::Schema>> {
    let f = File::open(path).map_err(|e| Error::io(e, format!("opening {}", path.display())))?;
    let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)?;
    Ok(b.schema().clone())
}
