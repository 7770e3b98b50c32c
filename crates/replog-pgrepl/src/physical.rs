//! Physical streaming into WAL segment files, as `pg_receivewal` writes
//! them: a segment being received is `NAME.partial`, already the full
//! segment size (zeros after what has arrived); once its last byte has
//! arrived it is synced and renamed to `NAME`.

use crate::conn::{Conn, Mode};
use crate::copy::{self, ServerCopy, lsn_text};
use crate::logical::{SystemInfo, at_lsn, identify_system};
use crate::url::{Password, PgUrl};
use replog_core::error::{Error, ErrorKind, Result};
use replog_pgwal::segment::SegmentName;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How to receive WAL.
#[derive(Debug, Clone)]
pub struct ReceiveOptions {
    /// Directory of the segments.
    pub dir: PathBuf,
    /// Keep streaming after reaching the server's WAL end at the start.
    pub follow: bool,
    /// Where to start when the directory holds no segment of the server's
    /// timeline (default: the start of the segment holding the server's
    /// current WAL end).
    pub start: Option<u64>,
    /// How often a status update is sent.
    pub status_interval: Duration,
}

/// What was received.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// The server.
    pub system: Option<SystemInfo>,
    /// WAL segment size.
    pub segment_size: u64,
    /// Where streaming started.
    pub start: u64,
    /// The end of what was received and synced.
    pub end: u64,
    /// Segments completed (renamed from `.partial`), in order.
    pub completed: Vec<String>,
    /// The segment still `.partial` at the end, if any.
    pub partial: Option<String>,
}

/// The file name of segment `segno` on `timeline` (`replog_pgwal`'s
/// naming, the one home of WAL file names).
pub fn segment_name(timeline: u32, segno: u64, seg_size: u64) -> String {
    SegmentName::format(timeline, segno, seg_size as u32)
}

/// `SHOW wal_segment_size`'s answer (`16MB`, `1MB`, `1GB`) in bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = s[..digits].parse().ok()?;
    let mult = match s[digits..].trim() {
        "" | "B" => 1,
        "kB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return None,
    };
    let v = n.checked_mul(mult)?;
    // A power of two from 1 MB to 1 GB.
    (v.is_power_of_two() && ((1 << 20)..=(1 << 30)).contains(&v)).then_some(v)
}

/// Where to resume in `dir` for `timeline`: the start of its last
/// `.partial` segment, else just past its last complete segment.
fn resume_point(dir: &Path, timeline: u32, seg_size: u64) -> Result<Option<u64>> {
    let rd =
        std::fs::read_dir(dir).map_err(|e| Error::io(e, format!("reading {}", dir.display())))?;
    let mut best: Option<(u64, bool)> = None;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(e, format!("reading {}", dir.display())))?;
        let name = ent.file_name();
        let Some(n) = name.to_str().and_then(SegmentName::parse) else {
            continue;
        };
        let partial = n.partial;
        let Some(segno) = n.segno(seg_size as u32) else {
            continue;
        };
        if n.timeline != timeline {
            continue;
        }
        // A complete segment beats a partial one of the same number.
        let key = (segno, !partial);
        if best.is_none_or(|(s, p)| key > (s, !p)) {
            best = Some((segno, partial));
        }
    }
    Ok(best.map(|(segno, partial)| {
        if partial {
            segno * seg_size
        } else {
            (segno + 1) * seg_size
        }
    }))
}

struct Open {
    segno: u64,
    file: File,
    path: PathBuf,
}

/// Streams WAL from `url` into `opts.dir` (see the module docs). Without
/// `follow`, stops once the server's WAL end at the start has been
/// received and synced.
pub fn receive_wal(url: &PgUrl, password: &Password, opts: &ReceiveOptions) -> Result<Received> {
    let mut conn = Conn::connect(url, password, Mode::Physical)?;
    let system = identify_system(&mut conn)?;
    let size_row = conn.query("SHOW wal_segment_size")?;
    let seg_size = size_row
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_deref())
        .and_then(parse_size)
        .ok_or_else(|| {
            Error::unplaced(
                ErrorKind::Malformed,
                format!("{url}: SHOW wal_segment_size answered no segment size"),
            )
        })?;
    std::fs::create_dir_all(&opts.dir)
        .map_err(|e| Error::io(e, format!("creating {}", opts.dir.display())))?;
    let start = match resume_point(&opts.dir, system.timeline, seg_size)? {
        Some(s) => s,
        None => opts.start.unwrap_or(system.xlogpos) / seg_size * seg_size,
    };
    let slot = url
        .slot
        .as_deref()
        .map(|s| format!("SLOT {s} "))
        .unwrap_or_default();
    let command = format!(
        "START_REPLICATION {slot}PHYSICAL {} TIMELINE {}",
        lsn_text(start),
        system.timeline
    );
    conn.start_copy_both(&command)?;
    let stop_at = (!opts.follow).then_some(system.xlogpos);
    let mut out = Received {
        system: Some(system.clone()),
        segment_size: seg_size,
        start,
        end: start,
        ..Received::default()
    };
    let mut open: Option<Open> = None;
    // Received (written) and synced positions.
    let (mut written, mut synced) = (start, start);
    let mut last_status = Instant::now();
    let status = |conn: &mut Conn, w: u64, f: u64, reply: bool| {
        conn.send_copy_data(&copy::status_update(w, f, 0, copy::now_pg_us(), reply))
    };
    let sync = |o: &Open| {
        o.file
            .sync_data()
            .map_err(|e| Error::io(e, format!("syncing {}", o.path.display())))
    };
    loop {
        if stop_at.is_some_and(|t| written >= t) || replog_core::follow::stop_requested() {
            if let Some(o) = &open {
                sync(o)?;
            }
            synced = written;
            break;
        }
        if last_status.elapsed() >= opts.status_interval {
            status(&mut conn, written, synced, false)?;
            last_status = Instant::now();
        }
        let Some(f) = conn.poll_frame(Some(Duration::from_millis(500)))? else {
            continue;
        };
        match f.tag {
            b'd' => {}
            b'c' => break,
            b'N' => continue,
            b'E' => return Err(at_lsn(conn.server_error(&f, "streaming"), written)),
            t => {
                let e = conn.protocol(
                    &f,
                    format!(
                        "unexpected message type {:?} while streaming",
                        char::from(t)
                    ),
                );
                return Err(at_lsn(e, written));
            }
        }
        let body_at = f.body_offset();
        match copy::parse(&f.body, body_at).map_err(|e| at_lsn(e, written))? {
            ServerCopy::Keepalive { reply, .. } => {
                if reply {
                    status(&mut conn, written, synced, false)?;
                    last_status = Instant::now();
                }
            }
            ServerCopy::XLogData {
                start: data_start,
                data,
                ..
            } => {
                if data_start != written {
                    return Err(Error::new(
                        ErrorKind::Discontinuity,
                        body_at + 1,
                        format!(
                            "{url}: WAL data starts at LSN {}, expected {} (the end of what was received)",
                            lsn_text(data_start),
                            lsn_text(written)
                        ),
                    ));
                }
                let mut rest = data;
                while !rest.is_empty() {
                    let segno = written / seg_size;
                    let off = written % seg_size;
                    if open.as_ref().is_none_or(|o| o.segno != segno) {
                        let name = segment_name(system.timeline, segno, seg_size);
                        let path = opts.dir.join(format!("{name}.partial"));
                        let file = OpenOptions::new()
                            .create(true)
                            .truncate(false)
                            .write(true)
                            .open(&path)
                            .map_err(|e| Error::io(e, format!("opening {}", path.display())))?;
                        file.set_len(seg_size)
                            .map_err(|e| Error::io(e, format!("sizing {}", path.display())))?;
                        open = Some(Open { segno, file, path });
                    }
                    let o = open.as_ref().expect("opened above");
                    let n = rest.len().min((seg_size - off) as usize);
                    o.file
                        .write_all_at(&rest[..n], off)
                        .map_err(|e| Error::io(e, format!("writing {}", o.path.display())))?;
                    rest = &rest[n..];
                    written += n as u64;
                    if written % seg_size == 0 {
                        let o = open.take().expect("open");
                        sync(&o)?;
                        let done = o.path.with_extension("");
                        std::fs::rename(&o.path, &done)
                            .map_err(|e| Error::io(e, format!("renaming {}", o.path.display())))?;
                        sync_dir(&opts.dir)?;
                        synced = written;
                        out.completed.push(
                            done.file_name()
                                .and_then(|n| n.to_str())
                                .unwrap_or_default()
                                .to_string(),
                        );
                    }
                }
            }
        }
    }
    status(&mut conn, written, synced, false)?;
    let _ = conn.send_copy_done();
    conn.terminate();
    out.end = synced;
    out.partial = open.map(|o| {
        o.path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string()
    });
    Ok(out)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(e, format!("syncing {}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_sizes() {
        assert_eq!(parse_size("16MB"), Some(16 << 20));
        assert_eq!(parse_size("1MB"), Some(1 << 20));
        assert_eq!(parse_size("1GB"), Some(1 << 30));
        assert_eq!(parse_size("3MB"), None);
        assert_eq!(parse_size("512kB"), None);
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn resumes_after_the_last_segment_or_at_its_partial() {
        let d = tempfile::tempdir().unwrap();
        let size = 1u64 << 20;
        assert_eq!(resume_point(d.path(), 1, size).unwrap(), None);
        std::fs::write(d.path().join(segment_name(1, 5, size)), b"").unwrap();
        std::fs::write(d.path().join(segment_name(2, 9, size)), b"").unwrap();
        assert_eq!(resume_point(d.path(), 1, size).unwrap(), Some(6 * size));
        std::fs::write(
            d.path()
                .join(format!("{}.partial", segment_name(1, 6, size))),
            b"",
        )
        .unwrap();
        assert_eq!(resume_point(d.path(), 1, size).unwrap(), Some(6 * size));
    }
}
