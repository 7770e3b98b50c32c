//! Statistics grouped as `pg_waldump --stats` groups them: per resource
//! manager, or per record type (`--stats=record`), with counts, record
//! bytes without images, image bytes and both together.

use std::io::{self, Write};

use crate::consts::{PgVersion, rmgr};
use crate::names::{record_type, rmgr_name};
use crate::{Lsn, Record};

/// Counts and byte totals of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatEntry {
    /// Records.
    pub count: u64,
    /// Bytes of the records without their full-page images.
    pub rec_len: u64,
    /// Bytes of full-page images.
    pub fpi_len: u64,
}

impl StatEntry {
    fn add(&mut self, other: &StatEntry) {
        self.count += other.count;
        self.rec_len += other.rec_len;
        self.fpi_len += other.fpi_len;
    }

    /// Record and image bytes together.
    pub fn total_len(&self) -> u64 {
        self.rec_len + self.fpi_len
    }
}

/// Statistics of a run of records.
#[derive(Debug, Clone)]
pub struct WalStats {
    /// LSN of the first record counted.
    pub start: Option<Lsn>,
    /// End of the last record counted.
    pub end: Lsn,
    /// Version of the WAL (for record type names).
    pub version: Option<PgVersion>,
    groups: Box<[[StatEntry; 16]; 256]>,
}

impl Default for WalStats {
    fn default() -> Self {
        WalStats {
            start: None,
            end: Lsn(0),
            version: None,
            groups: Box::new([[StatEntry::default(); 16]; 256]),
        }
    }
}

/// One printed group.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatRow {
    /// `Rmgr` or `Rmgr/TYPE`.
    pub name: String,
    /// The numbers.
    #[serde(flatten)]
    pub entry: StatEntry,
    /// Record and image bytes together.
    pub total_len: u64,
}

impl WalStats {
    /// Counts `rec`.
    pub fn add(&mut self, rec: &Record<'_>) {
        if self.start.is_none() {
            self.start = Some(rec.lsn);
            self.version = Some(rec.version);
        }
        self.end = rec.end;
        let mut recid = usize::from(rec.header.info >> 4);
        if rec.header.rmid == rmgr::XACT {
            recid &= 0x07;
        }
        let e = &mut self.groups[usize::from(rec.header.rmid)][recid];
        e.count += 1;
        e.rec_len += u64::from(rec.rec_len());
        e.fpi_len += u64::from(rec.body.fpi_len);
    }

    /// Adds the counts of `later`, read after the records counted here.
    pub fn merge(&mut self, later: &WalStats) {
        if later.start.is_none() {
            return;
        }
        if self.start.is_none() {
            self.start = later.start;
            self.version = later.version;
        }
        self.end = later.end;
        for (mine, theirs) in self.groups.iter_mut().zip(later.groups.iter()) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                a.add(b);
            }
        }
    }

    /// The groups pg_waldump prints: per record type, or per manager (every
    /// built-in manager, custom ones only when they have records).
    pub fn rows(&self, per_record: bool) -> Vec<StatRow> {
        let version = self.version.unwrap_or(PgVersion::V15);
        let mut rows = Vec::new();
        for (rmid, types) in self.groups.iter().enumerate() {
            let rmid = rmid as u8;
            let builtin = rmid < rmgr::BUILTIN_COUNT;
            if per_record {
                for (recid, e) in types.iter().enumerate() {
                    if e.count == 0 {
                        continue;
                    }
                    let info = (recid as u8) << 4;
                    let kind = match record_type(version, rmid, info) {
                        Some(k) => k.to_string(),
                        None => format!("UNKNOWN ({info:x})"),
                    };
                    rows.push(StatRow {
                        name: format!("{}/{kind}", rmgr_name(rmid)),
                        entry: *e,
                        total_len: e.total_len(),
                    });
                }
            } else {
                let mut sum = StatEntry::default();
                types.iter().for_each(|e| sum.add(e));
                if builtin || sum.count > 0 {
                    rows.push(StatRow {
                        name: rmgr_name(rmid).into_owned(),
                        entry: sum,
                        total_len: sum.total_len(),
                    });
                }
            }
        }
        rows
    }

    /// Totals over every record.
    pub fn total(&self) -> StatEntry {
        let mut t = StatEntry::default();
        self.groups.iter().flatten().for_each(|e| t.add(e));
        t
    }

    /// Writes the table exactly as `pg_waldump --stats[=record]` does.
    pub fn write_pg_waldump(&self, per_record: bool, out: &mut dyn Write) -> io::Result<()> {
        let t = self.total();
        let total_len = t.total_len();
        let pct = |n: u64, d: u64| {
            if d == 0 {
                0.0
            } else {
                100.0 * n as f64 / d as f64
            }
        };
        writeln!(
            out,
            "WAL statistics between {} and {}:",
            self.start.unwrap_or_default(),
            self.end
        )?;
        writeln!(
            out,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
            "Type", "N", "(%)", "Record size", "(%)", "FPI size", "(%)", "Combined size", "(%)"
        )?;
        writeln!(
            out,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
            "----", "-", "---", "-----------", "---", "--------", "---", "-------------", "---"
        )?;
        for r in self.rows(per_record) {
            let e = &r.entry;
            writeln!(
                out,
                "{:<27} {:>20} ({:>6.2}) {:>20} ({:>6.2}) {:>20} ({:>6.2}) {:>20} ({:>6.2})",
                r.name,
                e.count,
                pct(e.count, t.count),
                e.rec_len,
                pct(e.rec_len, t.rec_len),
                e.fpi_len,
                pct(e.fpi_len, t.fpi_len),
                r.total_len,
                pct(r.total_len, total_len)
            )?;
        }
        writeln!(
            out,
            "{:<27} {:>20} {:<9}{:>20} {:<9}{:>20} {:<9}{:>20}",
            "", "--------", "", "--------", "", "--------", "", "--------"
        )?;
        writeln!(
            out,
            "{:<27} {:>20} {:<9}{:>20} {:<9}{:>20} {:<9}{:>20} {:<6}",
            "Total",
            t.count,
            "",
            t.rec_len,
            format!("[{:.2}%]", pct(t.rec_len, total_len)),
            t.fpi_len,
            format!("[{:.2}%]", pct(t.fpi_len, total_len)),
            total_len,
            "[100%]"
        )
    }
}
