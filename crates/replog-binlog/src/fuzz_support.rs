//! Pure entry points for fuzzing (wired into cargo-fuzz targets elsewhere).
//! Each must never panic, whatever the input.

use crate::events::{EventBody, ReadOptions};
use crate::reader::{Events, StreamReader};
use crate::table_map::TableMap;

/// Drains the event iterator over arbitrary bytes (with checksum
/// verification on and off, in memory and streaming), decoding every row of
/// every rows event and every event inside transaction payloads.
pub fn fuzz_events(data: &[u8]) {
    for verify in [true, false] {
        let opts = ReadOptions {
            verify_checksums: verify,
            max_event_size: 1 << 24,
        };
        if let Ok(events) = Events::with_options(data, opts) {
            drain(events, 0);
        }
        if let Ok(mut s) = StreamReader::with_options(data, opts) {
            while let Some(ev) = s.next_event() {
                if ev.is_err() {
                    break;
                }
            }
        }
    }
}

fn drain(events: Events<'_>, depth: usize) {
    for ev in events {
        let Ok(ev) = ev else { break };
        match ev.body() {
            EventBody::Rows(rows) => {
                for r in rows.rows() {
                    if r.is_err() {
                        break;
                    }
                }
            }
            EventBody::TransactionPayload(p) if depth == 0 => {
                if let Ok(buf) = p.decompress() {
                    drain(p.events(&buf), depth + 1);
                }
            }
            _ => {}
        }
    }
}

/// Builds a table map from the first bytes (`n` columns, `n` type codes,
/// a metadata length byte and the metadata) and decodes row images from the
/// rest until an error or the end.
pub fn fuzz_rows(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 32);
    let Some(types) = rest.get(..n) else { return };
    let rest = &rest[n..];
    let Some((&ml, rest)) = rest.split_first() else {
        return;
    };
    let Some(meta) = rest.get(..usize::from(ml)) else {
        return;
    };
    let mut rows = &rest[usize::from(ml)..];
    let Ok(mut tm) = TableMap::from_parts(1, "fuzz", "t", types, meta) else {
        return;
    };
    // Alternate signedness and give labels so that every branch runs.
    for (i, c) in tm.columns.iter_mut().enumerate() {
        c.unsigned = Some(i % 2 == 1);
        if i % 3 == 0 {
            c.labels = Some(vec!["a".into(), "b".into(), "c".into()]);
            c.charset = Some(if i % 2 == 0 { 63 } else { 8 });
        }
    }
    let mut base = 0u64;
    while !rows.is_empty() {
        match crate::rows::decode_image(&tm, rows, base) {
            Ok((_, used)) if used > 0 => {
                rows = &rows[used..];
                base += used as u64;
            }
            _ => break,
        }
    }
    let _ = crate::json::json_to_text(data);
    let _ = crate::json::decode_json_diffs(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_test_support::SmokeRng as Rng;
    use std::path::PathBuf;

    fn fixtures() -> Vec<Vec<u8>> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mysql");
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut paths: Vec<_> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_none_or(|e| e != "md"))
                .collect();
            paths.sort();
            for p in paths {
                if let Ok(b) = std::fs::read(p) {
                    out.push(b);
                }
            }
        }
        out
    }

    #[test]
    fn smoke() {
        let mut rng = Rng::new(0x5eed);
        for _ in 0..200 {
            let n = rng.below(300);
            let mut v: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            fuzz_rows(&v);
            if rng.below(2) == 0 {
                v.splice(0..0, crate::MAGIC);
            }
            fuzz_events(&v);
        }
        for f in fixtures() {
            fuzz_events(&f);
            for _ in 0..25 {
                let m = rng.mutate(&f);
                fuzz_events(&m);
            }
        }
    }

    #[test]
    fn smoke_rows() {
        let mut rng = Rng::new(42);
        let types = [
            1u8, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19, 245, 246, 252, 254, 255,
        ];
        for _ in 0..400 {
            let n = 1 + rng.below(8);
            let mut v = vec![n as u8];
            for _ in 0..n {
                v.push(types[rng.below(types.len())]);
            }
            let ml = rng.below(16);
            v.push(ml as u8);
            for _ in 0..ml + rng.below(64) {
                v.push(rng.next_u64() as u8);
            }
            fuzz_rows(&v);
        }
    }

    /// Every input the fuzz targets ever crashed on, kept under
    /// `fuzz/regressions/<target>/`, runs again here.
    #[test]
    fn fuzz_regressions() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
        let mut n = 0;
        for (target, run) in [
            ("binlog_rows", fuzz_rows as fn(&[u8])),
            ("binlog_events", fuzz_events as fn(&[u8])),
        ] {
            let Ok(rd) = std::fs::read_dir(root.join(target)) else {
                continue;
            };
            for e in rd.flatten() {
                let data = std::fs::read(e.path()).unwrap();
                run(&data);
                n += 1;
            }
        }
        assert!(n > 0, "no regression inputs under {}", root.display());
    }

    /// The DATETIME2 inputs of `fuzz/regressions/binlog_rows/` are errors
    /// at the value's absolute offset, not a panic (`-2^63 - 100` in
    /// `(intpart << 24) + frac`) or an impossible date.
    #[test]
    fn datetime2_overflow_is_an_error_at_its_offset() {
        let tm = TableMap::from_parts(1, "fuzz", "t", &[18], &[0]).unwrap();
        let image = [0x00, 0xff, 0xff, 0xff, 0xff, 0xff];
        let e = crate::rows::decode_image(&tm, &image, 1000).unwrap_err();
        assert_eq!(e.offset(), Some(1001), "{e}");
        assert!(e.message().contains("year"), "{e}");
        let tm = TableMap::from_parts(1, "fuzz", "t", &[18], &[2]).unwrap();
        let image = [0x00, 0, 0, 0, 0, 0, 0xff];
        let e = crate::rows::decode_image(&tm, &image, 1000).unwrap_err();
        assert_eq!(e.offset(), Some(1001), "{e}");
        assert!(e.message().contains("negative"), "{e}");
    }
}
