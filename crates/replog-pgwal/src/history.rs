//! Timeline history files (`TTTTTTTT.history`), written by PostgreSQL when
//! a server starts a new timeline (promotion, point-in-time recovery).
//!
//! The file of timeline T lists T's ancestors, oldest first, one per line:
//! the parent timeline id (decimal), a tab, the LSN where T's line of
//! history left it (`X/X`), a tab, and a free-text reason. Blank lines and
//! lines starting with `#` are ignored. Parent ids increase from line to
//! line and are all below T. The WAL of T is that of each parent up to its
//! switch point, then T's own.

use std::path::{Path, PathBuf};

use replog_core::recovery::DamageClass;

use crate::Lsn;
use crate::error::{Error, ErrorKind, Result};

/// One ancestor in a history file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryEntry {
    /// The parent timeline.
    pub parent: u32,
    /// Where the parent's WAL ends in this history (the first LSN of the
    /// next timeline).
    pub switchpoint: Lsn,
    /// Why the timeline changed, as the server wrote it.
    pub reason: String,
}

/// The history of one timeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TimelineHistory {
    /// The timeline the file describes.
    pub timeline: u32,
    /// The file it was read from.
    pub file: String,
    /// Its ancestors, oldest first.
    pub entries: Vec<HistoryEntry>,
}

impl TimelineHistory {
    /// Parses the text of the history file of `timeline`, checked as
    /// PostgreSQL checks it (an error names the file and line).
    pub fn parse(timeline: u32, file: &str, text: &str) -> Result<TimelineHistory> {
        let mut entries: Vec<HistoryEntry> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let bad = |m: String| {
                Error::new(ErrorKind::History, format!("line {}: {m}: {line:?}", i + 1))
                    .in_file(Some(file.into()))
                    .classed(DamageClass::Corrupt)
            };
            let l = line.trim_start();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let mut fields = l.splitn(3, '\t');
            let parent = fields
                .next()
                .and_then(|f| f.trim().parse::<u32>().ok())
                .ok_or_else(|| bad("expected a numeric timeline id".into()))?;
            let switchpoint = fields
                .next()
                .and_then(Lsn::parse)
                .ok_or_else(|| bad("expected a switch point LSN".into()))?;
            let reason = fields.next().unwrap_or("").trim_end().to_string();
            if let Some(last) = entries.last() {
                if parent <= last.parent {
                    return Err(bad(format!(
                        "timeline ids must increase (timeline {parent} after {})",
                        last.parent
                    )));
                }
                if switchpoint < last.switchpoint {
                    return Err(bad(format!(
                        "switch points must not go back ({switchpoint} after {})",
                        last.switchpoint
                    )));
                }
            }
            if parent >= timeline {
                return Err(bad(format!(
                    "timeline {parent} is not an ancestor of timeline {timeline}"
                )));
            }
            entries.push(HistoryEntry {
                parent,
                switchpoint,
                reason,
            });
        }
        Ok(TimelineHistory {
            timeline,
            file: file.to_string(),
            entries,
        })
    }

    /// The timeline whose WAL holds `lsn` in this history
    /// (`tliOfPointInHistory`): the first ancestor whose switch point is
    /// after `lsn`, else this timeline.
    pub fn timeline_of(&self, lsn: Lsn) -> u32 {
        self.entries
            .iter()
            .find(|e| lsn < e.switchpoint)
            .map_or(self.timeline, |e| e.parent)
    }

    /// Whether `timeline` is this one or one of its ancestors.
    pub fn contains(&self, timeline: u32) -> bool {
        timeline == self.timeline || self.entries.iter().any(|e| e.parent == timeline)
    }
}

/// The timeline of a history file name (`TTTTTTTT.history`).
pub fn history_timeline(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(".history")?;
    (stem.len() == 8 && stem.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(stem, 16).ok())
        .flatten()
}

/// Every history file of `dir`, by timeline, parsed; then checked against
/// each other: the history of a timeline continues its parent's (the
/// parent's own file, when present, lists the same ancestors).
pub fn read_directory(dir: &Path) -> Result<Vec<TimelineHistory>> {
    let shown = dir.display().to_string();
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(e, &shown))? {
        let entry = entry.map_err(|e| Error::io(e, &shown))?;
        if let Some(t) = entry.file_name().to_str().and_then(history_timeline) {
            found.push((t, entry.path()));
        }
    }
    found.sort();
    let mut out: Vec<TimelineHistory> = Vec::new();
    for (t, path) in found {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(e, &name))?;
        out.push(TimelineHistory::parse(t, &name, &text)?);
    }
    check_consistent(&out)?;
    Ok(out)
}

/// The history of each timeline extends its parent's: the parent's file
/// lists the same ancestors with the same switch points.
pub fn check_consistent(histories: &[TimelineHistory]) -> Result<()> {
    for h in histories {
        let Some(last) = h.entries.last() else {
            continue;
        };
        let Some(parent) = histories.iter().find(|p| p.timeline == last.parent) else {
            continue;
        };
        // The same ancestors and switch points (the reasons are free text).
        let key = |e: &HistoryEntry| (e.parent, e.switchpoint);
        let n = h.entries.len() - 1;
        if !h.entries[..n]
            .iter()
            .map(key)
            .eq(parent.entries.iter().map(key))
        {
            let m = format!(
                "the history of timeline {} does not continue that of its parent {} ({})",
                h.timeline, parent.timeline, parent.file
            );
            return Err(Error::new(ErrorKind::History, m)
                .in_file(Some(h.file.as_str().into()))
                .classed(DamageClass::Corrupt));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T3: &str = "1\t0/3000158\tno recovery target specified\n\n# comment\n2\t0/5000000\tat restore point \"x\"\n";

    #[test]
    fn parses_and_places_lsns_on_timelines() {
        let h = TimelineHistory::parse(3, "00000003.history", T3).unwrap();
        assert_eq!(h.entries.len(), 2);
        assert_eq!(h.entries[0].parent, 1);
        assert_eq!(h.entries[0].switchpoint, Lsn(0x300_0158));
        assert_eq!(h.entries[1].reason, "at restore point \"x\"");
        assert_eq!(h.timeline_of(Lsn(0x300_0000)), 1);
        assert_eq!(h.timeline_of(Lsn(0x300_0158)), 2);
        assert_eq!(h.timeline_of(Lsn(0x500_0000)), 3);
        assert!(h.contains(2) && !h.contains(4));
        assert_eq!(history_timeline("0000000A.history"), Some(10));
        assert_eq!(history_timeline("0000000A.partial"), None);
    }

    #[test]
    fn damaged_histories_are_errors_naming_the_line() {
        for (text, want) in [
            ("x\t0/1\tr\n", "line 1: expected a numeric timeline id"),
            ("1 0/1\n", "line 1: expected a numeric timeline id"),
            ("1\tzz\tr\n", "line 1: expected a switch point LSN"),
            (
                "2\t0/1\tr\n1\t0/2\tr\n",
                "line 2: timeline ids must increase",
            ),
            (
                "1\t0/5\tr\n2\t0/4\tr\n",
                "line 2: switch points must not go back",
            ),
            ("3\t0/5\tr\n", "line 1: timeline 3 is not an ancestor"),
        ] {
            let e = TimelineHistory::parse(3, "00000003.history", text).unwrap_err();
            assert!(e.to_string().contains(want), "{text:?}: {e}");
            assert!(e.to_string().contains("00000003.history"), "{e}");
        }
        let t2 = TimelineHistory::parse(2, "00000002.history", "1\t0/3000000\tr\n").unwrap();
        let t3 = TimelineHistory::parse(3, "00000003.history", T3).unwrap();
        let e = check_consistent(&[t2, t3.clone()]).unwrap_err();
        assert!(e.to_string().contains("does not continue"), "{e}");
        let t2 = TimelineHistory::parse(2, "00000002.history", "1\t0/3000158\tr\n").unwrap();
        check_consistent(&[t2, t3]).unwrap();
    }
}
