//! Segment file names (`TTTTTTTTXXXXXXXXYYYYYYYY`, optionally `.partial`)
//! and directories of segments.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The parts of a segment file name: timeline, then the segment number
/// split in two 32-bit halves (`XLogFileName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentName {
    /// Timeline id (first 8 hex digits).
    pub timeline: u32,
    /// High part: segment number divided by the segments per 4 GB.
    pub log: u32,
    /// Low part: segment number modulo the segments per 4 GB.
    pub seg: u32,
    /// The file ends in `.partial` (written by `pg_receivewal` or left at a
    /// timeline switch).
    pub partial: bool,
}

impl SegmentName {
    /// Parses a file name (not a path); `None` unless it is 24 upper-case
    /// hex digits, optionally followed by `.partial`.
    pub fn parse(name: &str) -> Option<SegmentName> {
        let (stem, partial) = match name.strip_suffix(".partial") {
            Some(s) => (s, true),
            None => (name, false),
        };
        if stem.len() != 24
            || !stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        {
            return None;
        }
        let part = |r: std::ops::Range<usize>| u32::from_str_radix(&stem[r], 16).ok();
        Some(SegmentName {
            timeline: part(0..8)?,
            log: part(8..16)?,
            seg: part(16..24)?,
            partial,
        })
    }

    /// The segment number for a segment size, or `None` when the low part
    /// is out of range for that size.
    pub fn segno(&self, segment_size: u32) -> Option<u64> {
        let per_log = 0x1_0000_0000u64 / u64::from(segment_size);
        (u64::from(self.seg) < per_log).then(|| u64::from(self.log) * per_log + u64::from(self.seg))
    }

    /// The file name of segment `segno` on `timeline` (`XLogFileName`).
    pub fn format(timeline: u32, segno: u64, segment_size: u32) -> String {
        let per_log = 0x1_0000_0000u64 / u64::from(segment_size);
        format!(
            "{:08X}{:08X}{:08X}",
            timeline,
            segno / per_log,
            segno % per_log
        )
    }
}

/// Whether `path`'s file name is a WAL segment's.
pub fn is_segment_path(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(SegmentName::parse)
        .is_some()
}

/// The segment files of a directory, in WAL order: one file per segment
/// number, of the highest timeline present for it (a complete file rather
/// than a `.partial` one). Other files (history files, `archive_status/`)
/// are left out.
pub fn list_directory(dir: &Path) -> Result<Vec<PathBuf>> {
    let shown = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(e, &shown))? {
        let entry = entry.map_err(|e| Error::io(e, &shown))?;
        let Some(name) = entry.file_name().to_str().and_then(SegmentName::parse) else {
            continue;
        };
        if entry
            .file_type()
            .map_err(|e| Error::io(e, &shown))?
            .is_file()
        {
            found.push((name, entry.path()));
        }
    }
    if found.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("no WAL segment files in {shown}"),
        ));
    }
    // Segment numbers compare like (log, seg) for any one segment size. For
    // one segment, the highest timeline wins, and a complete file wins over
    // a `.partial` one: the history of the newest timeline.
    found.sort_by_key(|(n, _)| (n.log, n.seg, n.timeline, !n.partial));
    let mut chosen: Vec<(SegmentName, PathBuf)> = Vec::with_capacity(found.len());
    for (name, path) in found {
        match chosen.last_mut() {
            Some((last, p)) if (last.log, last.seg) == (name.log, name.seg) => {
                *last = name;
                *p = path;
            }
            _ => chosen.push((name, path)),
        }
    }
    Ok(chosen.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = SegmentName::parse("00000002000000010000000A").unwrap();
        assert_eq!((n.timeline, n.log, n.seg, n.partial), (2, 1, 10, false));
        assert_eq!(n.segno(16 << 20), Some(256 + 10));
        assert_eq!(
            SegmentName::format(2, 266, 16 << 20),
            "00000002000000010000000A"
        );
        assert_eq!(n.segno(1 << 20), Some(4096 + 10));
        assert!(
            SegmentName::parse("00000002000000010000000A.partial")
                .unwrap()
                .partial
        );
        assert!(SegmentName::parse("00000002000000010000000a").is_none());
        assert!(SegmentName::parse("00000002.history").is_none());
        // 0x100 segments of 16 MB per 4 GB: seg 0x100 is out of range.
        assert_eq!(
            SegmentName::parse("000000010000000000000100")
                .unwrap()
                .segno(16 << 20),
            None
        );
    }

    #[test]
    fn directory_takes_the_newest_timeline_per_segment() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "000000010000000000000003",
            "000000010000000000000004.partial",
            "000000020000000000000004",
            "000000020000000000000005.partial",
            "000000020000000000000005",
            "00000002.history",
        ] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        let got: Vec<String> = list_directory(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(
            got,
            [
                "000000010000000000000003",
                "000000020000000000000004",
                "000000020000000000000005"
            ]
        );
    }
}
