//! The reader against every bit flip and every truncation of a small log:
//! damage is found at the right frame, torn tails are told apart from
//! corruption, nothing panics, and the streaming reader agrees with the
//! zero-copy one whatever its buffer size.

use replog_core::frame::FrameIter;
use replog_core::reader::{LogReader, ReaderOptions, SegmentInput, scan};
use replog_core::recovery::DamageClass;
use replog_core::recovery::RecoveryPolicy;
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, LogKind};

fn sample(txns: u64, open_tail: bool) -> (Vec<u8>, Vec<u64>) {
    let mut opts = WriterOptions::new(LogKind::Logical);
    opts.salt = 0xfeed;
    opts.log_id = [1; 16];
    opts.start_state = Some(100);
    let mut w = LogWriter::new(Vec::new(), &opts).unwrap();
    let mut frame_lsns = Vec::new();
    let mut state = 100;
    for t in 1..=txns {
        frame_lsns.push(
            w.begin(&Begin {
                txid: t,
                timestamp_us: t as i64,
                server_id: 1,
                origin: "",
            })
            .unwrap(),
        );
        for r in 0..3u8 {
            let body: Vec<u8> = std::iter::once(0x10 + r)
                .chain((0..(t as u8 * 7 + r)).map(|i| i ^ 0x5a))
                .collect();
            frame_lsns.push(w.append(&body).unwrap());
        }
        let c = Commit {
            txid: t,
            timestamp_us: t as i64,
            state_before: Some(state),
            state_after: Some(state + t),
        };
        state += t;
        frame_lsns.push(w.commit(&c).unwrap());
    }
    if open_tail {
        frame_lsns.push(
            w.begin(&Begin {
                txid: 99,
                timestamp_us: 0,
                server_id: 1,
                origin: "",
            })
            .unwrap(),
        );
        frame_lsns.push(w.append(&[0x11, 1, 2, 3]).unwrap());
    }
    (w.finish().unwrap(), frame_lsns)
}

fn opts(policy: RecoveryPolicy, cont: bool, buffer_size: usize) -> ReaderOptions {
    ReaderOptions {
        policy,
        continue_after_damage: cont,
        buffer_size,
    }
}

/// Bytes behind a source that does not expose them as a slice.
struct NotASlice(Vec<u8>);

impl replog_core::reader::Source for NotASlice {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.as_slice().read_at(offset, buf)
    }
}

fn scan_reader(mut r: LogReader) -> replog_core::reader::Summary {
    while let Some(ev) = r.next() {
        ev.unwrap();
    }
    r.into_summary()
}

fn run(bytes: &[u8], o: ReaderOptions) -> replog_core::reader::Summary {
    scan(vec![SegmentInput::memory("t", bytes.to_vec())], o).unwrap()
}

#[test]
fn clean_log() {
    let (bytes, lsns) = sample(4, false);
    let s = run(&bytes, opts(RecoveryPolicy::Strict, true, 0));
    assert_eq!(s.frames, lsns.len() as u64);
    assert_eq!(s.commits, 4);
    assert!(s.damage.is_empty());
    assert!(s.uncommitted.is_none());
    assert_eq!(s.final_state, Some(110));
    assert_eq!(s.committed_lsn, s.end_lsn);
}

#[test]
fn uncommitted_tail_is_reported_not_damage() {
    let (bytes, lsns) = sample(2, true);
    let s = run(&bytes, opts(RecoveryPolicy::Strict, true, 0));
    assert!(s.damage.is_empty());
    let tail = s.uncommitted.unwrap();
    assert_eq!(tail.txid, 99);
    assert_eq!(tail.frames, 2);
    assert_eq!(tail.lsn, lsns[lsns.len() - 2]);
    assert!(s.committed_lsn.unwrap() < s.end_lsn.unwrap());
}

/// Offset of the frame that contains byte `i`.
fn frame_of(bytes: &[u8], i: usize) -> u64 {
    let (_, it) = FrameIter::new(bytes, 0).unwrap();
    let mut last = 80;
    for f in it {
        let f = f.unwrap();
        if f.offset as usize > i {
            break;
        }
        last = f.offset;
    }
    last
}

#[test]
fn every_bit_flip_is_found_at_its_frame() {
    let (bytes, _) = sample(3, false);
    for i in 0..bytes.len() {
        for bit in [0u8, 3, 7] {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            let s = run(&b, opts(RecoveryPolicy::Strict, true, 0));
            if i < 80 {
                // The header is damaged: reported at a header offset, never a panic.
                assert!(s.damage.first().is_some_and(|d| d.offset < 80), "byte {i}");
                continue;
            }
            let d = s
                .damage
                .first()
                .unwrap_or_else(|| panic!("flip of byte {i} bit {bit} not found"));
            assert_eq!(d.offset, frame_of(&bytes, i), "byte {i} bit {bit}");
            assert!(!d.tolerated);
            assert!(!s.acceptable());
        }
    }
}

#[test]
fn every_truncation_is_a_torn_tail_or_a_clean_end() {
    let (bytes, lsns) = sample(3, false);
    let frame_ends: Vec<usize> = lsns
        .iter()
        .map(|l| 80 + *l as usize)
        .chain([bytes.len()])
        .collect();
    for cut in 80..bytes.len() {
        let s = run(&bytes[..cut], opts(RecoveryPolicy::TolerateTail, false, 0));
        if frame_ends.contains(&cut) {
            assert!(s.damage.is_empty(), "cut at frame boundary {cut}");
        } else {
            let d = &s.damage[0];
            assert_eq!(d.class, DamageClass::TornTail, "cut {cut}");
            assert!(d.tolerated);
            assert!(s.acceptable());
            assert_eq!(
                d.offset as usize,
                *frame_ends.iter().rev().find(|&&e| e <= cut).unwrap()
            );
        }
        let strict = run(&bytes[..cut], opts(RecoveryPolicy::Strict, false, 0));
        assert_eq!(strict.acceptable(), frame_ends.contains(&cut));
    }
}

#[test]
fn zero_filled_tail_is_torn_and_garbage_after_it_is_not() {
    let (mut bytes, _) = sample(2, false);
    let end = bytes.len();
    bytes.extend_from_slice(&[0u8; 512]);
    let s = run(&bytes, opts(RecoveryPolicy::TolerateTail, false, 0));
    assert_eq!(s.damage[0].class, DamageClass::TornTail);
    assert_eq!(s.damage[0].offset as usize, end);
    bytes.push(0x42);
    let s = run(&bytes, opts(RecoveryPolicy::TolerateTail, false, 0));
    assert_eq!(s.damage[0].class, DamageClass::Corrupt);
}

#[test]
fn corruption_in_the_middle_resumes_at_the_next_frame() {
    let (mut bytes, lsns) = sample(3, false);
    let victim = 80 + lsns[5] as usize;
    bytes[victim + 9] ^= 0xff;
    let s = run(&bytes, opts(RecoveryPolicy::Strict, true, 0));
    assert_eq!(s.damage.len(), 2, "{:?}", s.damage); // the frame, then the broken transaction structure
    assert_eq!(s.damage[0].offset as usize, victim);
    assert_eq!(s.damage[0].resumes_at, Some(80 + lsns[6]));
    assert_eq!(s.damage[0].class, DamageClass::Corrupt);
    // Stop-at-first ends the log at the damage and accepts it.
    let s = run(&bytes, opts(RecoveryPolicy::StopAtFirst, false, 0));
    assert!(s.acceptable());
    assert_eq!(s.end_lsn, Some(lsns[5]));
    assert_eq!(s.committed_lsn, Some(lsns[5]));
}

#[test]
fn streaming_agrees_with_zero_copy_for_any_buffer_size() {
    let (bytes, _) = sample(3, true);
    let mut variants = vec![bytes.clone(), bytes[..bytes.len() - 5].to_vec()];
    let mut flipped = bytes.clone();
    flipped[200] ^= 4;
    variants.push(flipped);
    for b in &variants {
        let (_, it) = FrameIter::new(b, 0).unwrap();
        let mut whole = Vec::new();
        let mut whole_err = None;
        for f in it {
            match f {
                Ok(f) => whole.push((f.offset, f.body.to_vec())),
                Err(e) => whole_err = e.offset(),
            }
        }
        for buffer_size in [1, 7, 8, 16, 33, 100, 4096] {
            // A source that is not a slice takes the buffered path.
            let source = Box::new(NotASlice(b.clone()));
            let mut r = LogReader::new(
                vec![SegmentInput {
                    name: "t".into(),
                    source,
                }],
                opts(RecoveryPolicy::Strict, false, buffer_size),
            );
            let mut streamed = Vec::new();
            let mut err = None;
            while let Some(ev) = r.next() {
                match ev.unwrap() {
                    replog_core::reader::Event::Frame(f) => {
                        streamed.push((f.offset, f.body.to_vec()))
                    }
                    replog_core::reader::Event::Damage(d) => err = Some(d.offset),
                    replog_core::reader::Event::Segment { .. } => {}
                }
            }
            assert_eq!(streamed, whole, "buffer {buffer_size}");
            assert_eq!(err, whole_err, "buffer {buffer_size}");
        }
    }
}

#[test]
fn segments_must_follow_on() {
    let mut o = WriterOptions::new(LogKind::Statement);
    o.segment_size = 1;
    o.durability = replog_core::writer::Durability::Os;
    let dir = tempfile::tempdir().unwrap();
    let mut w = replog_core::writer::DirWriter::create(dir.path(), o).unwrap();
    for t in 1..=3 {
        w.begin(&Begin {
            txid: t,
            timestamp_us: 0,
            server_id: 1,
            origin: "",
        })
        .unwrap();
        w.append(&[0x10, t as u8]).unwrap();
        w.commit(&Commit {
            txid: t,
            timestamp_us: 0,
            state_before: Some(t),
            state_after: Some(t + 1),
        })
        .unwrap();
    }
    w.finish().unwrap();
    let paths = replog_core::reader::segment_paths(dir.path()).unwrap();
    assert_eq!(paths.len(), 4); // three full segments and an empty fourth
    let r = LogReader::open(
        &[dir.path().to_path_buf()],
        opts(RecoveryPolicy::Strict, true, 0),
    )
    .unwrap();
    let s = scan_reader(r);
    assert!(s.damage.is_empty(), "{:?}", s.damage);
    assert_eq!(s.commits, 3);
    // Drop the middle segment: a gap.
    let inputs: Vec<_> = [0, 2, 3]
        .iter()
        .map(|&i| SegmentInput::file(&paths[i]).unwrap())
        .collect();
    let s = scan(inputs, opts(RecoveryPolicy::Strict, true, 0)).unwrap();
    assert!(
        matches!(
            s.damage[0].kind,
            replog_core::reader::DamageKind::Discontinuity { .. }
        ),
        "{:?}",
        s.damage
    );
}

/// Regression: when damage ended the scan, the summary lost the open
/// transaction and the final state digest.
#[test]
fn damage_that_ends_the_scan_still_reports_the_uncommitted_tail() {
    let (mut bytes, _) = sample(2, true);
    bytes.truncate(bytes.len() - 3);
    let s = run(&bytes, opts(RecoveryPolicy::TolerateTail, false, 0));
    assert_eq!(s.damage[0].class, DamageClass::TornTail);
    assert_eq!(s.uncommitted.as_ref().map(|u| u.txid), Some(99));
    assert_eq!(s.final_state, Some(103));
}

/// A crash while rotation was creating the next segment leaves it shorter
/// than its header: a torn tail, not corruption.
#[test]
fn a_half_created_last_segment_is_a_torn_tail() {
    let mut o = WriterOptions::new(LogKind::Statement);
    o.segment_size = 1;
    o.durability = replog_core::writer::Durability::Os;
    let dir = tempfile::tempdir().unwrap();
    let mut w = replog_core::writer::DirWriter::create(dir.path(), o).unwrap();
    w.begin(&Begin {
        txid: 1,
        timestamp_us: 0,
        server_id: 1,
        origin: "",
    })
    .unwrap();
    w.append(&[0x10, 1]).unwrap();
    w.commit(&Commit {
        txid: 1,
        timestamp_us: 0,
        state_before: None,
        state_after: None,
    })
    .unwrap();
    w.finish().unwrap();
    let paths = replog_core::reader::segment_paths(dir.path()).unwrap();
    let last = paths.last().unwrap();
    let header = std::fs::read(last).unwrap();
    for keep in [0, 20, 79] {
        std::fs::write(last, &header[..keep]).unwrap();
        let r = LogReader::open(
            &[dir.path().to_path_buf()],
            opts(RecoveryPolicy::TolerateTail, false, 0),
        )
        .unwrap();
        let s = scan_reader(r);
        assert_eq!(s.commits, 1);
        assert_eq!(s.damage.len(), 1, "{keep}: {:?}", s.damage);
        assert_eq!(s.damage[0].class, DamageClass::TornTail, "{keep}");
        assert!(s.acceptable());
    }
}

/// A format record between two transactions (framing.md §4.3): structure
/// damage at its offset for a logical log, where every record belongs to a
/// transaction; it used to be read past silently, so a consumer lost it.
/// The physical CHECKPOINT is the one record allowed there.
#[test]
fn a_record_outside_a_transaction_is_structure_damage_unless_its_format_allows_it() {
    fn log(kind: LogKind, stray: &[u8]) -> (Vec<u8>, u64) {
        let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(kind)).unwrap();
        let tx = |w: &mut LogWriter<Vec<u8>>, txid| {
            w.begin(&Begin {
                txid,
                timestamp_us: 1,
                server_id: 1,
                origin: "",
            })
            .unwrap();
            w.append(&[0x10, 7]).unwrap();
            w.commit(&Commit {
                txid,
                timestamp_us: 1,
                state_before: None,
                state_after: None,
            })
            .unwrap();
        };
        tx(&mut w, 1);
        let stray_lsn = w.append(stray).unwrap();
        tx(&mut w, 2);
        (w.finish().unwrap(), stray_lsn)
    }
    let (bytes, stray_lsn) = log(LogKind::Logical, &[0x11, 1, 2]);
    let s = run(&bytes, opts(RecoveryPolicy::Strict, true, 0));
    assert_eq!(s.commits, 2, "both transactions are still read");
    assert_eq!(s.damage.len(), 1, "{:?}", s.damage);
    let d = &s.damage[0];
    assert_eq!(d.lsn, stray_lsn);
    assert_eq!(
        d.kind.to_string(),
        "record of type 0x11 outside a transaction"
    );
    assert!(!d.tolerated);

    let mut checkpoint = vec![0x14];
    checkpoint.extend_from_slice(&[0; 28]);
    let (bytes, _) = log(LogKind::Physical, &checkpoint);
    let s = run(&bytes, opts(RecoveryPolicy::Strict, true, 0));
    assert!(s.damage.is_empty(), "{:?}", s.damage);
    let (bytes, _) = log(LogKind::Physical, &[0x10, 1]);
    let s = run(&bytes, opts(RecoveryPolicy::Strict, true, 0));
    assert_eq!(s.damage.len(), 1, "{:?}", s.damage);
}
