//! Shared code of replog's benchmarks: deterministic log generators for the
//! three native formats, and the scans the benchmarks time.
//!
//! - [`write_log`] / [`build_log`]: a log of `BEGIN, N records, COMMIT`
//!   transactions whose format records have bodies of a chosen size
//!   (statement: STATEMENT with SQL text; logical: INSERT rows; physical:
//!   PAGE_IMAGE of whole 4 KiB pages for the 4 KiB case, PAGE_DELTA below).
//! - [`build_rows_log`]: a logical log of small 4-column INSERT rows.
//! - [`crc_only`], [`frame_iter_scan`], [`reader_scan`], [`verify_scan`],
//!   [`decode_rows`]: what is measured.
//!
//! Used by `benches/verify_scan.rs`, `benches/logical_rows.rs` and the
//! `ratio` and `genlog` binaries; see `BENCHMARKS.md` at the repository root.

use anyhow::{Context as _, Result, bail};
use replog_core::frame::FrameIter;
use replog_core::reader::{Event, LogReader, ReaderOptions, SegmentInput};
use replog_core::record::decode_record;
use replog_core::writer::{Durability, LogWriter, WriterOptions};
use replog_core::{Begin, Commit, Format, LogKind, Value};
use replog_logical::{
    Column, ColumnType, ColumnValue, Insert, LogicalFormat, LogicalRecord, Relation, TupleBuf,
};
use replog_physical::{DeltaRange, PageRef, PhysicalFormat};
use replog_statement::{Statement, StatementFormat};
use std::io::Write;

/// Frame-body sizes the verify-scan benchmarks use.
pub const BODY_SIZES: [usize; 3] = [64, 512, 4096];
/// Size of each in-memory benchmark log.
pub const BENCH_LOG_BYTES: usize = 64 << 20;
/// Bytes of format records per transaction (records per transaction is this
/// divided by the body size, at least 1).
const TX_BYTES: usize = 32 << 10;
/// Page size of the physical logs.
pub const PAGE_SIZE: usize = 4096;

/// All three native kinds, in table order.
pub const KINDS: [LogKind; 3] = [LogKind::Statement, LogKind::Logical, LogKind::Physical];

/// Parses `statement`, `logical` or `physical`.
pub fn parse_kind(s: &str) -> Result<LogKind> {
    Ok(match s {
        "statement" => LogKind::Statement,
        "logical" => LogKind::Logical,
        "physical" => LogKind::Physical,
        other => bail!("unknown kind {other:?} (statement, logical or physical)"),
    })
}

/// Fixed writer options for `kind` (deterministic ids; physical logs get a
/// 4 KiB page size and page format 1; no fsync).
pub fn options(kind: LogKind) -> WriterOptions {
    let mut o = WriterOptions::new(kind);
    o.log_id = *b"replog-benchmark";
    o.salt = 0x4245_4e43_485f_4c4f;
    o.store_id = 1;
    o.durability = Durability::Os;
    if kind == LogKind::Physical {
        o.page_size = PAGE_SIZE as u32;
        o.page_format = replog_physical::PAGE_FORMAT_VERSION;
    }
    o
}

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Encodes the format records of one kind with bodies of (about) one size.
struct RecordGen {
    kind: LogKind,
    body_size: usize,
    /// Random bytes that pages and deltas are cut from.
    pool: Vec<u8>,
    /// ASCII text that SQL and row text are cut from.
    text: String,
    page: Vec<u8>,
    row: TupleBuf,
    n: u64,
}

const POOL_LEN: usize = 1 << 16;

impl RecordGen {
    fn new(kind: LogKind, body_size: usize) -> Result<RecordGen> {
        let mut rng = Rng::new(0x5eed ^ body_size as u64);
        let mut pool = vec![0u8; POOL_LEN + PAGE_SIZE];
        rng.fill(&mut pool);
        // No zero bytes: a page image never has a hole, so it stays 4 KiB.
        for b in &mut pool {
            if *b == 0 {
                *b = 0x5a;
            }
        }
        let words = [
            "INSERT",
            "INTO",
            "shop.orders",
            "VALUES",
            "(42,",
            "'widget',",
            "NULL,",
            "3.14)",
            "UPDATE",
            "SET",
            "qty",
            "=",
            "qty",
            "+",
            "1",
            "WHERE",
            "id",
            "=",
            "17;",
        ];
        let mut text = String::with_capacity(POOL_LEN + 65536);
        while text.len() < POOL_LEN + 65536 {
            text.push_str(words[(rng.next_u64() % words.len() as u64) as usize]);
            text.push(' ');
        }
        if kind == LogKind::Physical && body_size < 64 {
            bail!("physical bodies are at least 64 bytes here");
        }
        Ok(RecordGen {
            kind,
            body_size,
            pool,
            text,
            page: vec![0u8; PAGE_SIZE],
            row: TupleBuf::new(),
            n: 0,
        })
    }

    /// Bytes of payload (SQL text, row text, delta bytes) that make a body
    /// of `body_size` once the record's fixed overhead is added.
    fn payload_len(&mut self) -> Result<usize> {
        let mut body = Vec::new();
        self.encode_with(&mut body, 0, 1)?;
        self.n = 0;
        Ok(self.body_size.saturating_sub(body.len()))
    }

    fn encode_with(&mut self, out: &mut Vec<u8>, payload: usize, txid: u64) -> Result<()> {
        let n = self.n;
        self.n += 1;
        let at = (n as usize * 61) % POOL_LEN;
        match self.kind {
            LogKind::Statement => {
                let sql = &self.text[at..at + payload];
                Statement::new(sql)
                    .encode(out)
                    .map_err(|e| anyhow::anyhow!("encoding STATEMENT: {e}"))?;
            }
            LogKind::Logical => {
                self.row.clear();
                let text = &self.text[at..at + payload];
                for v in [
                    Value::Int(n as i64),
                    Value::Int((n as i64).wrapping_mul(7)),
                    Value::Text(text.into()),
                    Value::Null,
                ] {
                    self.row.push_value(&v).map_err(anyhow::Error::msg)?;
                }
                LogicalRecord::Insert(Insert {
                    relation_id: 1,
                    new: self.row.as_tuple(),
                })
                .encode(out)
                .map_err(|e| anyhow::anyhow!("encoding INSERT: {e}"))?;
            }
            LogKind::Physical => {
                let page = PageRef {
                    txid,
                    page: (n % 100_000) as u32,
                    prev_lsn: 0,
                };
                if self.body_size == PAGE_SIZE {
                    self.page.copy_from_slice(&self.pool[at..at + PAGE_SIZE]);
                    self.page[..8].fill(0);
                    self.page[8] = 1;
                    replog_physical::encode_image(out, &page, &self.page)?;
                } else {
                    let data = &self.pool[at..at + payload];
                    replog_physical::encode_delta(
                        out,
                        &page,
                        &[DeltaRange {
                            offset: 16 + (n % 64) as u16 * 8,
                            data,
                        }],
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// What [`write_log`] wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogStats {
    /// Transactions.
    pub transactions: u64,
    /// Format records (not counting BEGIN and COMMIT).
    pub records: u64,
    /// Body size of the first format record.
    pub body_len: usize,
    /// Bytes of the segment.
    pub bytes: u64,
}

fn relation() -> Relation<'static> {
    let col = |name, ty, nullable, key| Column {
        name,
        ty,
        nullable,
        key,
        auto_increment: false,
    };
    Relation {
        relation_id: 1,
        schema_version: 1,
        database: "shop",
        table: "orders",
        columns: vec![
            col("id", ColumnType::BigInt { unsigned: false }, false, true),
            col("qty", ColumnType::BigInt { unsigned: false }, false, false),
            col("name", ColumnType::Text, true, false),
            col("note", ColumnType::Text, true, false),
        ],
    }
}

/// Writes transactions of `kind` records with bodies of `body_size` bytes
/// (physical 4 KiB: whole-page PAGE_IMAGEs, 4,130-byte bodies) to `w` until
/// the segment reaches `target_bytes`. A logical log starts with a RELATION.
pub fn write_log<W: Write>(
    w: &mut LogWriter<W>,
    kind: LogKind,
    body_size: usize,
    target_bytes: u64,
) -> Result<LogStats> {
    let mut g = RecordGen::new(kind, body_size)?;
    let payload = if kind == LogKind::Physical && body_size == PAGE_SIZE {
        0
    } else {
        g.payload_len()?
    };
    let per_tx = (TX_BYTES / body_size).max(1);
    let mut body = Vec::with_capacity(body_size + 64);
    let mut st = LogStats::default();
    let mut txid = 0u64;
    let ts0 = 1_700_000_000_000_000i64;
    while w.segment_len() < target_bytes {
        txid += 1;
        let origin = format!("0-1-{txid}");
        w.begin(&Begin {
            txid,
            timestamp_us: ts0 + txid as i64,
            server_id: 1,
            origin: &origin,
        })?;
        if txid == 1 && kind == LogKind::Logical {
            body.clear();
            LogicalRecord::Relation(relation())
                .encode(&mut body)
                .map_err(|e| anyhow::anyhow!("encoding RELATION: {e}"))?;
            w.append(&body)?;
        }
        for _ in 0..per_tx {
            body.clear();
            g.encode_with(&mut body, payload, txid)?;
            if st.body_len == 0 {
                st.body_len = body.len();
            }
            w.append(&body)?;
            st.records += 1;
        }
        w.commit(&Commit {
            txid,
            timestamp_us: ts0 + txid as i64,
            state_before: None,
            state_after: None,
        })?;
        st.transactions += 1;
    }
    st.bytes = w.segment_len();
    Ok(st)
}

/// An in-memory segment of about `target_bytes` (see [`write_log`]).
pub fn build_log(
    kind: LogKind,
    body_size: usize,
    target_bytes: usize,
) -> Result<(Vec<u8>, LogStats)> {
    let mut w = LogWriter::new(Vec::with_capacity(target_bytes + (1 << 20)), &options(kind))?;
    let st = write_log(&mut w, kind, body_size, target_bytes as u64)?;
    Ok((w.finish()?, st))
}

/// A logical segment of `rows` small INSERT rows (BIGINT, BIGINT, short
/// TEXT, NULL), 100 rows a transaction, after one RELATION.
pub fn build_rows_log(rows: u64) -> Result<Vec<u8>> {
    let mut w = LogWriter::new(
        Vec::with_capacity((rows * 64) as usize),
        &options(LogKind::Logical),
    )?;
    let mut body = Vec::with_capacity(128);
    let mut row = TupleBuf::new();
    let mut name = String::new();
    let mut txid = 0u64;
    let mut done = 0u64;
    while done < rows {
        txid += 1;
        w.begin(&Begin {
            txid,
            timestamp_us: txid as i64,
            server_id: 1,
            origin: "",
        })?;
        if txid == 1 {
            body.clear();
            LogicalRecord::Relation(relation())
                .encode(&mut body)
                .map_err(|e| anyhow::anyhow!("encoding RELATION: {e}"))?;
            w.append(&body)?;
        }
        for _ in 0..100.min(rows - done) {
            use std::fmt::Write as _;
            name.clear();
            let _ = write!(name, "name{:04}", done % 10_000);
            row.clear();
            for v in [
                Value::Int(done as i64),
                Value::Int(done as i64 * 3),
                Value::Text(name.as_str().into()),
                Value::Null,
            ] {
                row.push_value(&v).map_err(anyhow::Error::msg)?;
            }
            body.clear();
            LogicalRecord::Insert(Insert {
                relation_id: 1,
                new: row.as_tuple(),
            })
            .encode(&mut body)
            .map_err(|e| anyhow::anyhow!("encoding INSERT: {e}"))?;
            w.append(&body)?;
            done += 1;
        }
        w.commit(&Commit {
            txid,
            timestamp_us: txid as i64,
            state_before: None,
            state_after: None,
        })?;
    }
    Ok(w.finish()?)
}

/// Raw CRC-32C of the whole buffer: the ceiling a verify scan is compared to.
#[inline]
pub fn crc_only(buf: &[u8]) -> u32 {
    crc32c::crc32c(buf)
}

/// The copy a [`LogReader`] makes of a memory source: the whole buffer read
/// through `Source::read_at` into a `chunk`-byte buffer (no checksums).
/// Returns the last byte read.
pub fn copy_only(buf: &[u8], chunk: usize) -> u8 {
    use replog_core::reader::Source;
    let mut dst = vec![0u8; chunk];
    let mut at = 0u64;
    let mut last = 0;
    loop {
        let n = buf.read_at(at, &mut dst).unwrap_or(0);
        if n == 0 {
            break;
        }
        last = dst[n - 1];
        std::hint::black_box(&dst);
        at += n as u64;
    }
    last
}

/// (a) Every frame checked with the zero-copy [`FrameIter`] (checksums,
/// padding; no body decoding). Returns the number of frames.
pub fn frame_iter_scan(buf: &[u8]) -> Result<u64> {
    let (_, it) = FrameIter::new(buf, 0)?;
    let mut n = 0u64;
    for f in it {
        let f = f?;
        std::hint::black_box(f.body.len());
        n += 1;
    }
    Ok(n)
}

/// A reader over one in-memory segment, as `replog verify` sets it up
/// (continue after damage, 1 MiB buffer).
pub fn memory_reader(bytes: Vec<u8>) -> LogReader {
    memory_reader_with(bytes, 0)
}

/// [`memory_reader`] with a read buffer of `buffer_size` bytes (0: the
/// default, 1 MiB).
pub fn memory_reader_with(bytes: Vec<u8>, buffer_size: usize) -> LogReader {
    LogReader::new(
        vec![SegmentInput::memory("<bench>", bytes)],
        ReaderOptions {
            continue_after_damage: true,
            buffer_size,
            ..ReaderOptions::default()
        },
    )
}

/// (b) The streaming [`LogReader`] scan (checksums, transaction structure,
/// damage classification; no body decoding). Returns the number of frames;
/// the reader is left for the caller to drop (outside any timing).
pub fn reader_scan(reader: &mut LogReader) -> Result<u64> {
    let mut n = 0u64;
    while let Some(ev) = reader.next() {
        if let Event::Frame(f) = ev? {
            std::hint::black_box(f.body.len());
            n += 1;
        }
    }
    if reader.summary().damage_count > 0 {
        bail!("benchmark log is damaged");
    }
    Ok(n)
}

/// (c) What `replog verify` does: the [`LogReader`] scan, the segment header
/// checked by the format, and every record decoded with
/// [`decode_record`]. Returns the number of records decoded.
pub fn verify_scan<F: Format>(reader: &mut LogReader) -> Result<u64> {
    let mut n = 0u64;
    while let Some(ev) = reader.next() {
        match ev? {
            Event::Segment { header, .. } => F::check_header(header)?,
            Event::Frame(f) => {
                let r = decode_record::<F>(f.body, f.body_offset())
                    .with_context(|| format!("record at offset {}", f.offset))?;
                std::hint::black_box(&r);
                n += 1;
            }
            Event::Damage(d) => bail!("benchmark log is damaged: {}", d.to_error()),
        }
    }
    Ok(n)
}

/// (d) [`FrameIter`] + [`decode_record`] over the buffer itself: what (c)
/// would cost if the reader did not copy the log into its buffer (an
/// estimate of a zero-copy reader path; no transaction tracking).
pub fn frame_iter_verify<F: Format>(buf: &[u8]) -> Result<u64> {
    let (header, it) = FrameIter::new(buf, 0)?;
    F::check_header(&header)?;
    let mut n = 0u64;
    for f in it {
        let f = f?;
        let r = decode_record::<F>(f.body, f.body_offset())?;
        std::hint::black_box(&r);
        n += 1;
    }
    Ok(n)
}

/// [`frame_iter_verify`] for the format of `kind`.
pub fn frame_iter_verify_kind(kind: LogKind, buf: &[u8]) -> Result<u64> {
    match kind {
        LogKind::Statement => frame_iter_verify::<StatementFormat>(buf),
        LogKind::Logical => frame_iter_verify::<LogicalFormat>(buf),
        LogKind::Physical => frame_iter_verify::<PhysicalFormat>(buf),
    }
}

/// [`verify_scan`] for the format of `kind`.
pub fn verify_scan_kind(kind: LogKind, reader: &mut LogReader) -> Result<u64> {
    match kind {
        LogKind::Statement => verify_scan::<StatementFormat>(reader),
        LogKind::Logical => verify_scan::<LogicalFormat>(reader),
        LogKind::Physical => verify_scan::<PhysicalFormat>(reader),
    }
}

/// What a follower saw in the rows: rows, non-NULL integers summed, text
/// bytes, NULLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowTally {
    /// INSERT rows.
    pub rows: u64,
    /// Sum of the integer columns (wrapping).
    pub int_sum: i64,
    /// Bytes of text columns.
    pub text_bytes: u64,
    /// NULL columns.
    pub nulls: u64,
}

/// Row decoding the way a follower does it: every frame of the segment
/// checked with [`FrameIter`], every INSERT decoded and each of its values
/// iterated and looked at.
pub fn decode_rows(buf: &[u8]) -> Result<RowTally> {
    let (_, it) = FrameIter::new(buf, 0)?;
    let mut t = RowTally::default();
    for f in it {
        let f = f?;
        if f.record_type() != replog_logical::rtype::INSERT {
            continue;
        }
        let LogicalRecord::Insert(ins) = LogicalRecord::decode(f.body, f.body_offset())? else {
            continue;
        };
        tally_row(&mut t, ins.new.values())?;
    }
    Ok(t)
}

/// Like [`decode_rows`] over bodies already sliced out (no frame checksums):
/// the cost of decoding alone.
pub fn decode_rows_no_crc(bodies: &[&[u8]]) -> Result<RowTally> {
    let mut t = RowTally::default();
    for body in bodies {
        let LogicalRecord::Insert(ins) = LogicalRecord::decode(body, 0)? else {
            continue;
        };
        tally_row(&mut t, ins.new.values())?;
    }
    Ok(t)
}

#[inline]
fn tally_row(t: &mut RowTally, values: replog_logical::TupleValues<'_>) -> Result<()> {
    t.rows += 1;
    for v in values {
        match v? {
            ColumnValue::Value(Value::Int(i)) => t.int_sum = t.int_sum.wrapping_add(i),
            ColumnValue::Value(Value::Text(s)) => t.text_bytes += s.len() as u64,
            ColumnValue::Value(Value::Null) => t.nulls += 1,
            other => {
                std::hint::black_box(other);
            }
        }
    }
    Ok(())
}

/// The INSERT bodies of a segment, for [`decode_rows_no_crc`].
pub fn insert_bodies(buf: &[u8]) -> Result<Vec<&[u8]>> {
    let (_, it) = FrameIter::new(buf, 0)?;
    let mut out = Vec::new();
    for f in it {
        let f = f?;
        if f.record_type() == replog_logical::rtype::INSERT {
            out.push(f.body);
        }
    }
    Ok(out)
}

/// Best (shortest) wall time of `reps` runs of `f`, in seconds; `setup`
/// runs before each, untimed, and what `f` returns is dropped untimed.
pub fn best_of<S, R>(reps: usize, mut setup: impl FnMut() -> S, mut f: impl FnMut(S) -> R) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..reps {
        let s = setup();
        let t = std::time::Instant::now();
        let r = f(s);
        let dt = t.elapsed().as_secs_f64();
        drop(std::hint::black_box(r));
        best = best.min(dt);
    }
    best
}
